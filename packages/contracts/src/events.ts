import { z } from 'zod';

const micro = z.string().regex(/^\d{1,16}$/, 'micro-units as a decimal string');

/** The terms an event was accepted under (see `priced` below). */
export const pricedTermsSchema = z.object({
  /** Meter: credit system slug, or the feature's own slug. */
  meter: z.string().min(1).max(128),
  /** Credit system slug; '' for a standalone feature. */
  creditSystem: z.string().max(128),
  costMicro: micro,
  /** Plan allowance of the meter per period in micro-units; '-1' = unlimited. */
  limitMicro: z.string().regex(/^(-1|\d{1,16})$/),
  periodStartMs: z.number().int(),
  periodEndMs: z.number().int(),
  /** The plan slug the event was accepted under ('' = none). */
  plan: z.string().max(128),
});
export type PricedTerms = z.infer<typeof pricedTermsSchema>;

/**
 * The Kafka message of one accepted usage event (topic KAFKA_TOPIC_EVENTS,
 * key tenantId:customer). Amounts travel as strings of micro-units. New
 * fields must be optional so messages in flight survive a rolling deploy.
 */
export const usageEventMessageSchema = z.object({
  tenantId: z.string().min(1),
  id: z.string().min(1).max(256),
  customer: z.string().min(1).max(256),
  feature: z.string().min(1).max(128),
  valueMicro: micro,
  /** Event time, ms since the epoch. */
  timestamp: z.number().int().nonnegative(),
  /** When the API accepted it, ms since the epoch. */
  acceptedAt: z.number().int().nonnegative().optional(),
  entity: z.string().max(256).nullable().optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
  source: z.enum(['live', 'check', 'import']).default('live'),
  /** The backfill import an `apply` import event came from (so a revert can find its rows). */
  importId: z.string().max(64).optional(),
  /** Catalog version the API validated the event against (decimal). */
  catalogVersion: z.string().regex(/^\d{1,19}$/).optional(),
  /** Version of the customer's subscription state the API priced it under (decimal). */
  customerVersion: z.string().regex(/^\d{1,19}$/).optional(),
  /**
   * How the API priced the event when it accepted it. The worker debits with
   * exactly these terms, never with the catalog or plan it holds itself
   * ("priced as accepted"). Absent only for messages that carry no terms
   * (apply imports, messages from before this field): those are priced by the
   * worker with state at least as new as catalogVersion.
   */
  priced: pricedTermsSchema.optional(),
  /** Set by check with sendEvent: the strict path already debited it; the pipeline must not debit again. */
  debited: z
    .object({ meter: z.string(), planMicro: micro, purchasedMicro: micro, overageMicro: micro, appliedAt: z.number().int() })
    .optional(),
});
export type UsageEventMessage = z.infer<typeof usageEventMessageSchema>;
