import { z } from 'zod';
import { RESET_INTERVALS, isResetInterval } from '@tally/core';
import { amountSchema, currencySchema, metadataSchema, minorUnitsSchema, resetIntervalSchema, slugSchema } from './common.ts';
import { storable } from '../text.ts';

// ---- POST /v1/sync (Owostack's catalog-as-code body) ----

export const syncFeatureSchema = z.object({
  slug: slugSchema,
  type: z.enum(['metered', 'boolean']),
  /** Defaults to the slug (Owostack's `metered("gpt-4")` has no name). */
  name: z.string().min(1).max(256).optional(),
  meterType: z.enum(['consumable', 'non_consumable']).optional(),
});

export const syncCreditSystemSchema = z.object({
  slug: slugSchema,
  name: z.string().min(1).max(256),
  description: z.string().max(2000).nullish(),
  /** Member features and what one unit of each costs in credits (`gpt4(20)`). */
  features: z.array(z.object({ feature: slugSchema, creditCost: amountSchema })).default([]),
});

export const syncCreditPackSchema = z.object({
  slug: slugSchema,
  name: z.string().min(1).max(256),
  description: z.string().max(2000).nullish(),
  credits: amountSchema.refine((n) => n > 0, 'must be greater than 0'),
  price: minorUnitsSchema,
  currency: currencySchema,
  creditSystem: slugSchema,
  provider: z.string().min(1).max(64).nullish(),
  metadata: metadataSchema.nullish(),
  /** What a refund gives back: the share of the price the unspent credits represent (default), or the whole price. */
  refundPolicy: z.enum(['unspent', 'full']).optional(),
  /** Validity of the credits a purchase grants: they expire this many days after the grant (absent = never). */
  expiresAfterDays: z.number().int().positive().max(36_500).nullish(),
});

export const syncPlanFeatureSchema = z.object({
  /** A feature slug, or a credit system slug for that system's allowance of credits. */
  slug: slugSchema,
  enabled: z.boolean().default(true),
  /** Units (or credits) per period; null/absent = unlimited. */
  limit: amountSchema.nullish(),
  trialLimit: amountSchema.nullish(),
  reset: resetIntervalSchema.optional(),
  overage: z.enum(['block', 'charge']).optional(),
  /** What one unit of this feature costs in its credit system on this plan. */
  creditCost: amountSchema.nullish(),
  /**
   * Unused allowance carried into the next periods: at most `max` (units or credits) from each period,
   * usable for `periods` periods (docs/metering.md "Rollover"). Needs a limit and a resetting period.
   */
  rollover: z.object({ max: amountSchema.refine((n) => n > 0, 'must be greater than 0'), periods: z.number().int().min(1).max(12) }).nullish(),
});

export const syncPlanSchema = z.object({
  slug: slugSchema,
  name: z.string().min(1).max(256),
  description: z.string().max(2000).nullish(),
  price: minorUnitsSchema,
  currency: currencySchema,
  /** How often the plan bills: one of the reset intervals (API.md); `none`/`never` for one-off plans. */
  interval: z.string().refine(isResetInterval, `must be one of ${RESET_INTERVALS.join(', ')}`),
  billingType: z.string().max(64).nullish(),
  planGroup: z.string().max(128).nullish(),
  trialDays: z.number().int().min(0).max(3650).optional(),
  provider: z.string().min(1).max(64).nullish(),
  metadata: metadataSchema.nullish(),
  autoEnable: z.boolean().optional(),
  isAddon: z.boolean().optional(),
  features: z.array(syncPlanFeatureSchema).default([]),
});

/** Every name, description and metadata string must be storable (text.ts). */
export const syncBodySchema = storable(z.object({
  defaultProvider: z.string().min(1).max(64).optional(),
  /** Compute the report without changing anything (`tally diff`). */
  dryRun: z.boolean().optional(),
  features: z.array(syncFeatureSchema).max(10_000).default([]),
  creditSystems: z.array(syncCreditSystemSchema).max(10_000).default([]),
  creditPacks: z.array(syncCreditPackSchema).max(10_000).default([]),
  plans: z.array(syncPlanSchema).max(10_000).default([]),
}));
export type SyncBody = z.input<typeof syncBodySchema>;
export type SyncBodyParsed = z.output<typeof syncBodySchema>;

export const syncQuerySchema = z.object({
  dryRun: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => (v === undefined ? undefined : v === 'true' || v === '1')),
});

export const syncSectionResultSchema = z.object({
  created: z.array(z.string()),
  updated: z.array(z.string()),
  unchanged: z.array(z.string()),
  /** Slugs sync removed (packs archived, plans deleted) because the config no longer lists them. */
  removed: z.array(z.string()),
});

export const syncResultSchema = z.object({
  success: z.literal(true),
  dryRun: z.boolean(),
  /** The catalog version after the sync (unchanged when nothing changed). */
  version: z.number(),
  features: syncSectionResultSchema,
  creditSystems: syncSectionResultSchema,
  creditPacks: syncSectionResultSchema,
  plans: syncSectionResultSchema,
  warnings: z.array(z.string()),
});
export type SyncResult = z.infer<typeof syncResultSchema>;

// ---- Catalog reads ----

export const planFeatureViewSchema = z.object({
  slug: z.string(),
  type: z.enum(['feature', 'credit_system']),
  enabled: z.boolean(),
  limit: z.number().nullable(),
  trialLimit: z.number().nullable(),
  reset: resetIntervalSchema,
  overage: z.enum(['block', 'charge']),
  creditCost: z.number().nullable(),
  /** Unused allowance carried over (max per period, for how many periods); absent = none. */
  rollover: z.object({ max: z.number(), periods: z.number().int() }).optional(),
});

export const planViewSchema = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  price: z.number(),
  currency: z.string(),
  interval: z.string(),
  planGroup: z.string().nullable(),
  trialDays: z.number(),
  provider: z.string().nullable(),
  autoEnable: z.boolean(),
  isAddon: z.boolean(),
  features: z.array(planFeatureViewSchema),
});
export type PlanView = z.infer<typeof planViewSchema>;

export const plansResultSchema = z.object({ success: z.literal(true), plans: z.array(planViewSchema) });
export const planResultSchema = z.object({ success: z.literal(true), plan: planViewSchema });

export const creditSystemViewSchema = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  features: z.array(z.object({ feature: z.string(), creditCost: z.number() })),
});
export const creditSystemsResultSchema = z.object({ success: z.literal(true), creditSystems: z.array(creditSystemViewSchema) });

export const creditPackViewSchema = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  credits: z.number(),
  price: z.number(),
  currency: z.string(),
  creditSystem: z.string(),
  provider: z.string(),
  refundPolicy: z.enum(['unspent', 'full']),
  /** Days a purchase's credits stay usable after the grant; null = they never expire. */
  expiresAfterDays: z.number().int().nullable(),
});
export const creditPacksResultSchema = z.object({ success: z.literal(true), creditPacks: z.array(creditPackViewSchema) });

export const slugParamsSchema = z.object({ slug: slugSchema });
