import type { JobsOptions } from 'bullmq';

/**
 * The "deduct" queue. Its name carries the consumer group when that is not
 * the default, so separate stacks sharing one Redis (test runs) keep their
 * own queues.
 */
export const DEFAULT_CONSUMER_GROUP = 'tally-metering';
export const deductQueueName = (consumerGroup: string) =>
  consumerGroup === DEFAULT_CONSUMER_GROUP ? 'deduct' : `deduct-${consumerGroup}`;

/**
 * A failing deduct job (ClickHouse or Redis down) is retried every second for
 * about a day: usage is never dropped, it waits. Completed jobs are kept an
 * hour so a redelivered Kafka batch finds its job id taken.
 */
export const deductJobOptions: JobsOptions = {
  attempts: 86_400,
  backoff: { type: 'fixed', delay: 1000 },
  removeOnComplete: { age: 3600, count: 50_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export const deductJobId = (topic: string, partition: number, firstOffset: string, lastOffset: string) =>
  `${topic.replace(/[^A-Za-z0-9._-]/g, '_')}-${partition}-${firstOffset}-${lastOffset}`;
