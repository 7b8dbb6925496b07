import { z } from 'zod';
import { metadataSchema } from './common.ts';
import { storable } from '../text.ts';

export const customerIdSchema = z.string().min(1).max(256);

/** POST /v1/customers: upsert, resolved by id, then by email. */
export const upsertCustomerBodySchema = storable(
  z.object({
    id: customerIdSchema.optional(),
    email: z.email().optional(),
    name: z.string().max(256).nullish(),
    metadata: metadataSchema.nullish(),
  }).refine((b) => b.id !== undefined || b.email !== undefined, { message: 'give an id or an email', path: ['id'] }),
);
export type UpsertCustomerBody = z.input<typeof upsertCustomerBodySchema>;

export const customerViewSchema = z.object({
  id: z.string(),
  email: z.string().nullable(),
  name: z.string().nullable(),
  metadata: metadataSchema,
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const customerResultSchema = customerViewSchema.extend({ success: z.literal(true) });
export type CustomerResult = z.infer<typeof customerResultSchema>;

export const subscriptionViewSchema = z.object({
  id: z.string(),
  plan: z.string(),
  status: z.enum(['active', 'trialing', 'pending', 'past_due', 'canceled']),
  anchorAt: z.string(),
  trialEndsAt: z.string().nullable(),
  /** The billing period containing now (plan interval, counted from the anchor); null for one-off plans. */
  currentPeriodStart: z.string().nullable(),
  currentPeriodEnd: z.string().nullable(),
});

/** GET /v1/customers/:id: the customer and its live subscription. */
export const customerDetailResultSchema = customerResultSchema.extend({ subscription: subscriptionViewSchema.nullable() });
export type CustomerDetailResult = z.infer<typeof customerDetailResultSchema>;

export const customerParamsSchema = z.object({ id: customerIdSchema });
