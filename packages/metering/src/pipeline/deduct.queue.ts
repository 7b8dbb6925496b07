import type { JobsOptions, Queue, WorkerOptions } from 'bullmq';
import { deductJobSchema, type DeductJob } from '@tally/contracts';

/**
 * The "deduct" queue: one job per Kafka batch (consumer-bridge.ts adds them,
 * deduct.processor.ts applies them). Its name carries the consumer group when
 * that is not the default, so separate stacks sharing one Redis (test runs)
 * keep their own queues.
 */
export const DEFAULT_CONSUMER_GROUP = 'tally-metering';
export const deductQueueName = (consumerGroup: string) =>
  consumerGroup === DEFAULT_CONSUMER_GROUP ? 'deduct' : `deduct-${consumerGroup}`;

/** The payload: one Kafka batch, its events grouped by customer (@tally/contracts jobs.ts). */
export { deductJobSchema };
export type { DeductJob };
export type DeductQueue = Queue<DeductJob>;

/**
 * A failing deduct job (ClickHouse or Redis down) is retried every second for
 * about a day: usage is never dropped, it waits. Completed jobs are kept an
 * hour so a redelivered Kafka batch finds its job id taken. A payload that
 * fails validation is not retried: the processor dead-letters it and completes.
 */
export const deductJobOptions: JobsOptions = {
  attempts: 86_400,
  backoff: { type: 'fixed', delay: 1000 },
  removeOnComplete: { age: 3600, count: 50_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/**
 * Jobs wait for their rows' insert, so several run at once to fill each batch
 * (at least this many). A killed worker's job is taken over after ~10 s, and
 * never failed for having stalled: replaying a deduct job is safe (see
 * DeductService), dropping one would lose usage.
 */
export const DEDUCT_MIN_CONCURRENCY = 16;
export const deductWorkerOptions: Pick<WorkerOptions, 'lockDuration' | 'stalledInterval' | 'maxStalledCount'> = {
  lockDuration: 10_000,
  stalledInterval: 5_000,
  maxStalledCount: 1_000_000,
};

export const deductJobId = (topic: string, partition: number, firstOffset: string, lastOffset: string) =>
  `${topic.replace(/[^A-Za-z0-9._-]/g, '_')}-${partition}-${firstOffset}-${lastOffset}`;

/** Adds a batch's job; the same id again (a redelivered batch) adds nothing. */
export const enqueueDeduct = (queue: DeductQueue, job: DeductJob, jobId: string) => queue.add('deduct', job, { ...deductJobOptions, jobId });
