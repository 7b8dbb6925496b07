import { z } from 'zod';
import { usageEventMessageSchema } from './events.ts';

/**
 * BullMQ "deduct" job: one Kafka batch (one partition, an offset range),
 * its events grouped by customer in offset order. Its id is derived from
 * topic, partition and offset range, so a redelivered batch adds no second
 * job (and if the range differs, the ledger's event-id dedup still applies
 * every event once).
 */
export const deductJobSchema = z.object({
  topic: z.string(),
  partition: z.number().int().nonnegative(),
  firstOffset: z.string(),
  lastOffset: z.string(),
  customers: z
    .array(z.object({ tenantId: z.string(), customer: z.string(), events: z.array(usageEventMessageSchema).min(1) }))
    .min(1),
});
export type DeductJob = z.infer<typeof deductJobSchema>;
