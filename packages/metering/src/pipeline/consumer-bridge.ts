import type { Queue } from 'bullmq';
import { usageEventMessageSchema, type DeductJob, type UsageEventMessage } from '@tally/contracts';
import type { ConsumedBatch } from '@tally/kafka';
import { counter, type Logger } from '@tally/runtime';
import { deductJobId, deductJobOptions } from './deduct.queue.ts';

const badMessages = counter('tally_kafka_bad_messages_total', 'Kafka messages that do not parse as usage events');

export interface BridgeOptions {
  /** Pause consuming while this many deduct jobs wait (ClickHouse or Redis slow or down). */
  maxWaitingJobs?: number;
  maxPauseMs?: number;
}

/**
 * Kafka batch -> one BullMQ deduct job (events grouped by customer, offset order).
 *
 * Kafka offsets are committed by the consumer only after this resolves, and
 * this resolves only after BullMQ stored the job in Redis. That ordering is
 * what makes the hand-off lossless: a crash before the job is stored leaves
 * the offset uncommitted, so Kafka delivers the batch again; a crash after the
 * job is stored but before the commit delivers it again too, and the job id
 * (topic, partition, offset range) makes the second add a no-op - or, if the
 * range differs, the ledger's event-id dedup applies each event once.
 * Committing first would lose the batch on a crash in between.
 */
export function createBridge(queue: Queue<DeductJob>, logger: Logger, options: BridgeOptions = {}) {
  const maxWaiting = options.maxWaitingJobs ?? 500;
  const maxPauseMs = options.maxPauseMs ?? 5_000;
  return async (batch: ConsumedBatch): Promise<void> => {
    const groups = new Map<string, DeductJob['customers'][number]>();
    for (const msg of batch.messages) {
      let event: UsageEventMessage;
      try {
        event = usageEventMessageSchema.parse(JSON.parse(msg.value?.toString() ?? ''));
      } catch (err) {
        badMessages.inc();
        logger.error({ partition: batch.partition, offset: msg.offset, err }, 'skipping a Kafka message that is not a usage event');
        continue;
      }
      const key = `${event.tenantId}\u0000${event.customer}`;
      const group = groups.get(key) ?? { tenantId: event.tenantId, customer: event.customer, events: [] };
      group.events.push(event);
      groups.set(key, group);
    }
    if (groups.size === 0) return;

    await waitForRoom(queue, maxWaiting, maxPauseMs);
    const first = batch.messages[0]!.offset;
    const last = batch.messages[batch.messages.length - 1]!.offset;
    const job: DeductJob = { topic: batch.topic, partition: batch.partition, firstOffset: first, lastOffset: last, customers: [...groups.values()] };
    await queue.add('deduct', job, { ...deductJobOptions, jobId: deductJobId(batch.topic, batch.partition, first, last) });
  };
}

/** Backpressure: while the queue is long, stop taking batches (bounded, so the group session survives). */
async function waitForRoom(queue: Queue, maxWaiting: number, maxPauseMs: number): Promise<void> {
  const deadline = Date.now() + maxPauseMs;
  while ((await queue.getWaitingCount()) + (await queue.getDelayedCount()) > maxWaiting) {
    if (Date.now() > deadline) throw new Error('deduct queue is full; the batch will be consumed again');
    await new Promise((r) => setTimeout(r, 250));
  }
}
