import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Queue, Worker, type Job } from 'bullmq';
import type { DeductJob, UsageEventMessage } from '@tally/contracts';
import type { ConsumedBatch } from '@tally/kafka';
import { ownBull } from '@tally/redis';
import { createLogger, parseConfig, sharedEnv } from '@tally/runtime';
import { toMessage } from '../messages.ts';
import { createBridge } from './consumer-bridge.ts';
import { deductJobId } from './deduct.queue.ts';

/**
 * The Kafka -> deduct-queue hand-off on the real Redis (BullMQ): a batch
 * becomes one job (events grouped by customer, offset order, bad messages
 * skipped) and the bridge resolves only once that job completed.
 */
const config = parseConfig(sharedEnv);
const logger = createLogger('test', 'silent');
const queueName = `deduct-bridge-int-${randomUUID().slice(0, 8)}`;
const queue = ownBull(config.REDIS_URL, (o) => new Queue<DeductJob>(queueName, o));
const seen: DeductJob[] = [];
let release: () => void = () => {};
let gate: Promise<void> = Promise.resolve();
const worker = ownBull(
  config.REDIS_URL,
  (o) =>
    new Worker<DeductJob>(
      queueName,
      async (job: Job<DeductJob>) => {
        await gate;
        seen.push(job.data);
      },
      { ...o, concurrency: 2 },
    ),
);
const bridge = createBridge(queue, logger, { pollMs: 5 });

afterAll(async () => {
  await worker.close();
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
});

const T = randomUUID();
const event = (customer: string, id: string): UsageEventMessage => ({ tenantId: T, id, customer, feature: 'gpt-4', valueMicro: '1000000', timestamp: 1, source: 'live' });
const batch = (values: (string | null)[], first = 100): ConsumedBatch => ({
  topic: 'tally.usage-events.v1',
  partition: 2,
  messages: values.map((value, i) => ({ offset: String(first + i), key: null, value: value === null ? null : Buffer.from(value), timestamp: '0' })),
  nextOffset: String(first + values.length),
});

describe('createBridge', () => {
  it('hands a batch on as one job grouped by customer in offset order, skipping messages that are not usage events', async () => {
    const values = [toMessage(event('a', 'e1')).value as string, 'not json', toMessage(event('b', 'e2')).value as string, null, toMessage(event('a', 'e3')).value as string];
    await bridge(batch(values));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toEqual({
      topic: 'tally.usage-events.v1',
      partition: 2,
      firstOffset: '100',
      lastOffset: '104',
      customers: [
        { tenantId: T, customer: 'a', events: [event('a', 'e1'), event('a', 'e3')] },
        { tenantId: T, customer: 'b', events: [event('b', 'e2')] },
      ],
    });
    expect(await queue.getJobState(deductJobId('tally.usage-events.v1', 2, '100', '104'))).toBe('completed');
  });

  it('resolves only once the job completed, and adds no job for a batch without usage events', async () => {
    seen.length = 0;
    gate = new Promise((r) => (release = r));
    let done = false;
    const handed = bridge(batch([toMessage(event('c', 'e4')).value as string], 200)).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(false);
    release();
    await handed;
    expect(seen.map((j) => j.firstOffset)).toEqual(['200']);

    const before = await queue.getJobCounts();
    await bridge(batch(['{}', 'x'], 300));
    expect(await queue.getJobCounts()).toEqual(before);
  });

  it('a redelivered batch finds its job id taken: no second job', async () => {
    seen.length = 0;
    const values = [toMessage(event('d', 'e5')).value as string];
    await bridge(batch(values, 400));
    await bridge(batch(values, 400));
    expect(seen).toHaveLength(1);
  });
});
