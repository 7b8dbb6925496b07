import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { DeductJob } from '@tally/contracts';
import type { ConsumedBatch } from '@tally/kafka';
import { counter, type Logger } from '@tally/runtime';
import { fromMessage } from '../messages.ts';
import { deductJobId, enqueueDeduct } from './deduct.queue.ts';
import type { FairShare, ParsedMessage } from './fair-share.ts';

const badMessages = counter('tally_kafka_bad_messages_total', 'Kafka messages that do not parse as usage events');
const lostJobs = counter('tally_deduct_jobs_lost_total', 'deduct jobs Redis lost before they completed (added again)');

export interface BridgeOptions {
  /** How often the hand-off checks whether its job completed. */
  pollMs?: number;
  /** Pause consuming while this many deduct jobs wait (ClickHouse or Redis slow or down). */
  maxWaitingJobs?: number;
  maxPauseMs?: number;
  /** Main lane only: tenants over their share of a batch go to the deferred lane (fair-share.ts). */
  fairShare?: FairShare;
}

/**
 * Kafka batch -> one BullMQ deduct job (events grouped by customer, offset order).
 *
 * Kafka offsets are committed by the consumer only after this resolves, and
 * this resolves only once the job COMPLETED - its debits applied and its rows
 * in ClickHouse - not merely once it was stored in Redis. Redis is a cache and
 * may be lost at any moment (FLUSHALL, a failover without persistence): a job
 * that vanishes with it is added again from the batch still held here, and
 * the rebuilt ledger (applied ids come back from ClickHouse) applies each
 * event once. So the durable record of "handled" is ClickHouse plus the
 * committed offset, never Redis alone.
 *
 * A crash before completion leaves the offset uncommitted, so Kafka delivers
 * the batch again; the job id (topic, partition, offset range) makes a second
 * add a no-op, or, if the range differs, the ledger's event-id dedup applies
 * each event once. Committing first would lose the batch on a crash in between.
 * The cost: one partition has one job in flight at a time (its batches stay in
 * order too); throughput comes from consuming every partition at once.
 */
export function createBridge(queue: Queue<DeductJob>, logger: Logger, options: BridgeOptions = {}) {
  const maxWaiting = options.maxWaitingJobs ?? 500;
  const maxPauseMs = options.maxPauseMs ?? 5_000;
  return async (batch: ConsumedBatch): Promise<void> => {
    let parsed: ParsedMessage[] = [];
    for (const message of batch.messages) {
      try {
        parsed.push({ message, event: fromMessage(message.value) });
      } catch (err) {
        badMessages.inc();
        logger.error({ partition: batch.partition, offset: message.offset, err }, 'skipping a Kafka message that is not a usage event');
      }
    }
    const all = parsed.length;
    if (options.fairShare) parsed = await options.fairShare.route(batch, parsed);
    const groups = new Map<string, DeductJob['customers'][number]>();
    for (const { event } of parsed) {
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
    // A batch the fair share split carries which tenants it kept: a redelivered batch split another way
    // (the lane state is not the same after a restart) must not find the first split's job id taken.
    const jobId = deductJobId(batch.topic, batch.partition, first, last) + (parsed.length < all ? `-k${keptDigest(groups.keys())}` : '');
    await enqueueDeduct(queue, job, jobId);
    await untilCompleted(queue, jobId, job, logger, options.pollMs ?? 10, batch.heartbeat);
  };
}

function keptDigest(keys: Iterable<string>): string {
  return createHash('sha256').update([...keys].sort().join('\n')).digest('hex').slice(0, 12);
}

/** Waits for the job to complete; re-adds it if Redis lost it (see createBridge). */
async function untilCompleted(queue: Queue<DeductJob>, jobId: string, job: DeductJob, logger: Logger, pollMs: number, heartbeat?: () => Promise<void>) {
  let beatAt = Date.now();
  for (;;) {
    const state = await queue.getJobState(jobId);
    if (state === 'completed') return;
    if (state === 'unknown') {
      lostJobs.inc();
      logger.warn({ jobId }, 'deduct job vanished from Redis before completing; adding it again');
      await enqueueDeduct(queue, job, jobId);
    }
    if (heartbeat && Date.now() - beatAt > 2_000) {
      await heartbeat();
      beatAt = Date.now();
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Backpressure: while the queue is long, stop taking batches (bounded, so the group session survives). */
async function waitForRoom(queue: Queue, maxWaiting: number, maxPauseMs: number): Promise<void> {
  const deadline = Date.now() + maxPauseMs;
  while ((await queue.getWaitingCount()) + (await queue.getDelayedCount()) > maxWaiting) {
    if (Date.now() > deadline) throw new Error('deduct queue is full; the batch will be consumed again');
    await new Promise((r) => setTimeout(r, 250));
  }
}
