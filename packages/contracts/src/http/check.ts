import { z } from 'zod';
import { amountSchema, customerDataSchema, resetIntervalSchema } from './common.ts';
import { storable } from '../text.ts';
import { propertiesSchema } from '../properties.ts';

export const CHECK_CODES = [
  'access_granted', 'addon_credits_used', 'overage_allowed', 'limit_exceeded', 'insufficient_credits',
  'customer_not_found', 'feature_not_found', 'no_active_subscription', 'feature_not_in_plan',
  'subscription_past_due',
] as const;

/** POST /v1/check (Owostack's check()). With sendEvent the check and the debit are one atomic step. */
export const checkRequestSchema = storable(z.object({
  customer: z.string().min(1).max(256),
  feature: z.string().min(1).max(128),
  value: amountSchema.default(1),
  sendEvent: z.boolean().default(false),
  /** Idempotency key of the event sendEvent records (default: a new id). */
  id: z.string().min(1).max(256).optional(),
  entity: z.string().max(256).optional(),
  /** Stored with the event sendEvent records: the same cap as /v1/track. */
  properties: propertiesSchema.optional(),
  customerData: customerDataSchema.optional(),
}));
export type CheckRequest = z.infer<typeof checkRequestSchema>;

export const creditsInfoSchema = z.object({
  source: z.literal('credit_system'),
  systemSlug: z.string(),
  costPerUnit: z.number(),
  addonBalance: z.number(),
  plan: z.object({ used: z.number(), limit: z.number().nullable(), balance: z.number().nullable(), resetsAt: z.string().nullable() }),
});
export type CreditsInfo = z.infer<typeof creditsInfoSchema>;

/** What check and track both answer about the balance (API.md field names). */
export const balanceStateShape = {
  usage: z.number().nullable(),
  limit: z.number().nullable(),
  balance: z.number().nullable(),
  resetsAt: z.string().nullable(),
  resetInterval: resetIntervalSchema.nullable(),
  credits: creditsInfoSchema.nullable(),
  details: z.looseObject({ message: z.string() }),
};

export const checkResponseSchema = z.object({
  allowed: z.boolean(),
  code: z.enum(CHECK_CODES),
  ...balanceStateShape,
});
export type CheckResponse = z.infer<typeof checkResponseSchema>;
