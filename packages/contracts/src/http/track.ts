import { z } from 'zod';
import { amountSchema, customerDataSchema, metadataSchema } from './common.ts';
import { balanceStateShape } from './check.ts';
import { storable } from '../text.ts';
import { propertiesSchema } from '../properties.ts';

export const MAX_BATCH_EVENTS = 10_000;

/** One usage event as an app sends it (Owostack's track()). Every string, at any depth, must be storable (text.ts). */
export const trackEventSchema = storable(z.object({
  id: z.string().min(1).max(256).optional(),
  customer: z.string().min(1).max(256),
  feature: z.string().min(1).max(128),
  value: amountSchema.default(1),
  /** ISO 8601 or ms since the epoch; default now. Not older than 35 days, not more than 5 minutes ahead. */
  timestamp: z.union([z.iso.datetime({ offset: true }), z.number().int().nonnegative()]).optional(),
  entity: z.string().max(256).optional(),
  properties: propertiesSchema.optional(),
  metadata: metadataSchema.optional(),
  customerData: customerDataSchema.optional(),
}));
export type TrackEventInput = z.infer<typeof trackEventSchema>;

/** POST /v1/track/batch: `{ events: [...] }` (or an NDJSON body, one event per line). Each event is validated on its own. */
export const trackBatchSchema = z.object({ events: z.array(z.unknown()) });

export const trackResponseSchema = z.object({
  success: z.literal(true),
  code: z.literal('tracked'),
  id: z.string(),
  ...balanceStateShape,
});

export const trackResultSchema = z.object({
  index: z.number().int(),
  id: z.string().nullable(),
  status: z.enum(['accepted', 'duplicate', 'conflict', 'rejected']),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type TrackResult = z.infer<typeof trackResultSchema>;

export const trackBatchResponseSchema = z.object({
  success: z.literal(true),
  accepted: z.number().int(),
  duplicates: z.number().int(),
  /** Ids already used (earlier, or earlier in this batch) with a different payload: not applied. */
  conflicts: z.number().int(),
  rejected: z.number().int(),
  results: z.array(trackResultSchema),
});
