import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toMicro } from '@tally/core';
import { createClickHouse } from '@tally/clickhouse';
import { checkRequestSchema, type CheckRequest } from '@tally/contracts';
import { createKafka, KafkajsAdmin, KafkajsProducer } from '@tally/kafka';
import { createPool } from '@tally/postgres';
import { createRedis } from '@tally/redis';
import { AppError, createLogger, parseConfig, sharedEnv } from '@tally/runtime';
import { createBalanceServices, createMeteringApi } from './services.ts';
import { LocalBalanceEvents } from './balance-events.ts';
import { seedCatalog } from './testing/fixtures.ts';

/**
 * POST /v1/check's service on the real Redis ledger and Kafka (a topic of its
 * own): a check answers without debiting; with sendEvent it debits and
 * publishes atomically enough that the event is in Kafka once the answer is
 * allowed, refuses what the balance cannot cover, and refuses an id reused
 * with another payload.
 */
const config = parseConfig(sharedEnv);
const redis = createRedis(config.REDIS_URL);
const pool = createPool(config.DATABASE_URL, 2);
const clickhouse = createClickHouse({ url: config.CLICKHOUSE_URL, database: config.CLICKHOUSE_DATABASE, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });
const logger = createLogger('test', 'silent');
const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'tally-check-service-int' });
const topic = `tally.check-int-${randomUUID().slice(0, 8)}`;
const admin = new KafkajsAdmin(kafka);
const raw = kafka.admin();
const producer = new KafkajsProducer(kafka);
const seed = seedCatalog(100);
const deps = { redis, pool, clickhouse, directory: seed.directory, logger, clickhouseDatabase: config.CLICKHOUSE_DATABASE, events: new LocalBalanceEvents() };
const { rebuilder, balances } = createBalanceServices(deps);
const metering = createMeteringApi({ ...deps, producer, topic, rebuilder });

beforeAll(async () => {
  if (redis.status !== 'ready') await once(redis, 'ready');
  await admin.ensureTopic(topic, 1, config.KAFKA_REPLICATION_FACTOR);
  await raw.connect();
});

afterAll(async () => {
  await metering.close();
  await raw.deleteTopics({ topics: [topic] }).catch(() => {});
  await raw.disconnect().catch(() => {});
  await admin.disconnect().catch(() => {});
  redis.disconnect();
  await pool.end();
  await clickhouse.close();
});

const request = (r: Partial<CheckRequest> & { customer: string }): CheckRequest => checkRequestSchema.parse({ feature: 'gpt-4', ...r });
const published = async () => {
  const [p] = await raw.fetchTopicOffsets(topic);
  return Number(p!.high);
};
const planLeft = async (customer: string) => (await balances.balance({ tenantId: seed.tenantId, customerId: customer, creditSystem: 'ai-credits' })).planMicro;

describe('CheckService', () => {
  it('answers without debiting; with sendEvent debits once, publishes the event, and refuses what is not covered', async () => {
    const c = `c-${randomUUID().slice(0, 8)}`;
    const asked = await metering.checks.check(seed.tenantId, request({ customer: c, value: 2 }));
    expect(asked).toMatchObject({ allowed: true });
    expect(await planLeft(c)).toBe(toMicro(100));
    expect(await published()).toBe(0);

    // 3 units of gpt-4 at 20 credits: 60 of 100
    const sent = await metering.checks.check(seed.tenantId, request({ customer: c, value: 3, sendEvent: true, id: 'evt-1' }));
    expect(sent).toMatchObject({ allowed: true, details: { eventId: 'evt-1', debited: true, duplicate: false, split: { plan: 60, purchased: 0, overage: 0 } } });
    expect(await planLeft(c)).toBe(toMicro(40));
    expect(await published()).toBe(1);

    // the same request again is the same event: not debited twice
    const again = await metering.checks.check(seed.tenantId, request({ customer: c, value: 3, sendEvent: true, id: 'evt-1' }));
    expect(again).toMatchObject({ details: { duplicate: true } });
    expect(await planLeft(c)).toBe(toMicro(40));

    // 60 more is not covered by the 40 left (overage blocks): refused, nothing debited or published
    const refused = await metering.checks.check(seed.tenantId, request({ customer: c, value: 3, sendEvent: true, id: 'evt-2' }));
    expect(refused).toMatchObject({ allowed: false, details: { debited: false } });
    expect(await planLeft(c)).toBe(toMicro(40));
    expect(await published()).toBe(1);
  });

  it('refuses an id reused with another payload, and answers an unknown feature', async () => {
    const c = `c-${randomUUID().slice(0, 8)}`;
    await metering.checks.check(seed.tenantId, request({ customer: c, value: 1, sendEvent: true, id: 'evt-x' }));
    const reused = await metering.checks.check(seed.tenantId, request({ customer: c, value: 2, sendEvent: true, id: 'evt-x' })).catch((e: unknown) => e);
    expect(reused).toBeInstanceOf(AppError);
    expect((reused as AppError).code).toBe('event_conflict');
    expect(await planLeft(c)).toBe(toMicro(80));

    expect(await metering.checks.check(seed.tenantId, request({ customer: c, feature: 'nope' }))).toMatchObject({ allowed: false, code: 'feature_not_found' });
  });
});
