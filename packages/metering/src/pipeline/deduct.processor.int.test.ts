import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker, type Job } from 'bullmq';
import { BatchingWriter } from '@tally/clickhouse';
import { TenantService } from '@tally/catalog';
import type { DeductJob, UsageEventMessage } from '@tally/contracts';
import { KafkajsProducer } from '@tally/kafka';
import { ownBull } from '@tally/redis';
import { AppError } from '@tally/runtime';
import { DeadLetterRepo } from '../dead-letters/dead-letter-repo.ts';
import { DEDUCT_PAYLOAD_TABLE } from '../dead-letters/deduct-payload.ts';
import { Rebuilder } from '../rebuild.ts';
import { seedCatalog } from '../testing/fixtures.ts';
import { testStores, testTopic } from '../testing/stores.ts';
import { enqueueDeduct, type DeductQueue } from './deduct.queue.ts';
import { deductProcessor, type DeductOutcome } from './deduct.processor.ts';
import { createDeadLetterService, createDeductService } from '../services.ts';
import { LocalBalanceEvents } from '../balance-events.ts';
import type { UsageRow } from './usage-row.ts';

/**
 * The deduct queue pair on the real Redis (BullMQ), Postgres (dead letters),
 * ClickHouse (rows) and Kafka (a replay): a payload that fails validation is
 * set aside once, visible and replayable, and its job completes at the first
 * attempt; the valid part of the same job is applied.
 */
const stores = testStores(3);
const { config, redis, pool, clickhouse, logger } = stores;
const seed = seedCatalog(100);
const rebuilder = new Rebuilder({ redis, pool, clickhouse, directory: seed.directory, logger }, config.CLICKHOUSE_DATABASE);
const writer = new BatchingWriter<UsageRow>(clickhouse, config.CLICKHOUSE_DATABASE, 'raw_usage_events_v1', { maxRows: 100, maxDelayMs: 20 });
const service = createDeductService({ redis, clickhouse, rebuilder, directory: seed.directory, writer, logger, events: new LocalBalanceEvents() });
const queueName = `deduct-int-${randomUUID().slice(0, 8)}`;
const queue: DeductQueue = ownBull(config.REDIS_URL, (o) => new Queue<DeductJob>(queueName, o));
const worker = ownBull(config.REDIS_URL, (o) => new Worker(queueName, deductProcessor({ service, deadLetters: new DeadLetterRepo(pool), logger }), { ...o, concurrency: 2 }));
const kafkaTopic = testTopic(config, 'deduct-replay');
const { kafka, topic } = kafkaTopic;
const producer = new KafkajsProducer(kafka);
const letters = createDeadLetterService({ pool, clickhouse, clickhouseDatabase: config.CLICKHOUSE_DATABASE, events: { producer, topic } });

let tenantId: string;

beforeAll(async () => {
  await stores.ready();
  tenantId = (await new TenantService(pool).createTenant(`deduct-int-${Date.now()}`)).tenantId;
});

afterAll(async () => {
  await worker.close();
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
  await writer.close();
  await producer.disconnect().catch(() => {});
  await kafkaTopic.remove();
  await stores.close();
});

const event = (t: string, customer: string, valueMicro: string): UsageEventMessage => ({
  tenantId: t,
  id: randomUUID(),
  customer,
  feature: 'gpt-4',
  valueMicro,
  timestamp: Date.now(),
  acceptedAt: Date.now(),
  source: 'live',
  properties: {},
});

async function finished(jobId: string): Promise<Job> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const job = await queue.getJob(jobId);
    if (job?.finishedOn) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} did not finish (state ${await queue.getJobState(jobId)}, ${job?.attemptsMade} attempts)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('deduct processor', () => {
  it('dead-letters an invalid customer group once, applies the valid one, and completes at the first attempt', async () => {
    const bad = { tenantId, customer: 'c-bad', events: [event(tenantId, 'c-bad', '1.5')] };
    const good = { tenantId: seed.tenantId, customer: 'c-ok', events: [event(seed.tenantId, 'c-ok', '1000000')] };
    const jobId = `t-0-${randomUUID()}`;
    await enqueueDeduct(queue, { topic: 't', partition: 0, firstOffset: '1', lastOffset: '2', customers: [bad as unknown as DeductJob['customers'][number], good] }, jobId);

    const job = await finished(jobId);
    expect(await queue.getJobState(jobId)).toBe('completed');
    expect(job.attemptsMade).toBeLessThanOrEqual(1);
    expect(job.failedReason).toBeFalsy();
    expect(job.returnvalue as DeductOutcome).toMatchObject({ applied: 1, deadLettered: 1 });

    // visible: listed under the tenant the group named, flagged by its table
    const page = await letters.list(tenantId, { limit: 10, state: 'pending' });
    expect(page.deadLetters).toHaveLength(1);
    const letter = page.deadLetters[0]!;
    expect(letter.table).toBe(DEDUCT_PAYLOAD_TABLE);
    expect(letter.reason).toMatch(/^invalid deduct payload: .*valueMicro/);
    expect(JSON.parse(letter.row)).toMatchObject({ topic: 't', partition: 0, customers: [{ customer: 'c-bad' }] });

    // the same payload again (a redelivered batch) keeps one letter
    await enqueueDeduct(queue, { topic: 't', partition: 0, firstOffset: '1', lastOffset: '2', customers: [bad as unknown as DeductJob['customers'][number]] }, `${jobId}-again`);
    expect((await finished(`${jobId}-again`)).returnvalue as DeductOutcome).toMatchObject({ applied: 0, deadLettered: 0 });
    expect((await letters.list(tenantId, { limit: 10, state: 'all' })).deadLetters).toHaveLength(1);

    // replayable: still invalid, the replay is refused and counted, the letter stays pending
    const refused = await letters.replay(tenantId, letter.id, { repair: false }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).code).toBe('dead_letter_refused');
    expect((refused as AppError).message).toMatch(/still not a valid deduct payload/);
    expect((await letters.list(tenantId, { limit: 10, state: 'pending' })).deadLetters[0]).toMatchObject({ id: letter.id, attempts: 1 });
  });

  it('replays a deduct letter that is valid now by publishing its events again', async () => {
    await kafkaTopic.create();
    // a payload refused by an older schema that the current one accepts (what a fixing deploy leaves behind)
    const events = [event(tenantId, 'c-replay', '2000000'), event(tenantId, 'c-replay', '3000000')];
    const rowText = JSON.stringify({ topic: 't', partition: 0, firstOffset: '5', lastOffset: '6', customers: [{ tenantId, customer: 'c-replay', events }] });
    await new DeadLetterRepo(pool).add([{ tenantId, table: DEDUCT_PAYLOAD_TABLE, rowText, reason: 'invalid deduct payload: (test)' }]);
    const letter = (await letters.list(tenantId, { limit: 10, state: 'pending' })).deadLetters.find((l) => l.row === rowText)!;

    const result = await letters.replay(tenantId, letter.id, { repair: false });
    expect(result.deadLetter.replayedAt).not.toBeNull();
    expect(await kafkaTopic.published()).toBe(2); // a topic of its own: both events, nothing else
  });
});
