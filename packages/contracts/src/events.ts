import { z } from 'zod';

const micro = z.string().regex(/^\d{1,16}$/, 'micro-units as a decimal string');

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
  /** Set by check with sendEvent: the strict path already debited it; the pipeline must not debit again. */
  debited: z
    .object({ meter: z.string(), planMicro: micro, purchasedMicro: micro, overageMicro: micro, appliedAt: z.number().int() })
    .optional(),
});
export type UsageEventMessage = z.infer<typeof usageEventMessageSchema>;
