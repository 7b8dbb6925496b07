import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toMicro } from '@tally/core';
import { checkRequestSchema, type CheckRequest, type UsageEventMessage } from '@tally/contracts';
import { KafkajsProducer } from '@tally/kafka';
import { keys } from '@tally/redis';
import { AppError } from '@tally/runtime';
import { createBalanceServices, createMeteringApi } from './services.ts';
import { LocalBalanceEvents } from './balance-events.ts';
import { usageRow } from './pipeline/usage-row.ts';
import { seedCatalog } from './testing/fixtures.ts';
import { testStores, testTopic } from './testing/stores.ts';

/**
 * POST /v1/check's service on the real Redis ledger and Kafka (a topic of its
 * own): a check answers without debiting; with sendEvent it debits and
 * publishes atomically enough that the event is in Kafka once the answer is
 * allowed, refuses what the balance cannot cover, and refuses an id reused
 * with another payload.
 */
const stores = testStores();
const { config, redis, pool, clickhouse, logger } = stores;
const kafkaTopic = testTopic(config, 'check');
const { kafka, topic } = kafkaTopic;
const producer = new KafkajsProducer(kafka);
const seed = seedCatalog(100);
const deps = { redis, pool, clickhouse, directory: seed.directory, logger, clickhouseDatabase: config.CLICKHOUSE_DATABASE, events: new LocalBalanceEvents() };
const { rebuilder, balances } = createBalanceServices(deps);
const metering = createMeteringApi({ ...deps, producer, topic, rebuilder });

beforeAll(async () => {
  await stores.ready();
  await kafkaTopic.create();
});

afterAll(async () => {
  await metering.close();
  await kafkaTopic.remove();
  await stores.close();
});

const request = (r: Partial<CheckRequest> & { customer: string }): CheckRequest => checkRequestSchema.parse({ feature: 'gpt-4', ...r });
const published = kafkaTopic.published;
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

  it('a rebuild keeps a strict-path debit whose row is still on its way', async () => {
    // The deduct processor drops a build that raced its writes (or a flush loses it); the state
    // built next comes from ClickHouse, where this check's row is not yet: the debit must survive.
    const c = `c-${randomUUID().slice(0, 8)}`;
    await metering.checks.check(seed.tenantId, request({ customer: c, value: 2, sendEvent: true, id: 'evt-r1' }));
    await metering.checks.check(seed.tenantId, request({ customer: c, value: 1, sendEvent: true, id: 'evt-r2' }));
    expect(await planLeft(c)).toBe(toMicro(40));
    await redis.del(keys.hydrated(seed.tenantId, c));
    expect(await planLeft(c)).toBe(toMicro(40));
    // and the id is still known: the same request is a duplicate, not a second debit
    const again = await metering.checks.check(seed.tenantId, request({ customer: c, value: 1, sendEvent: true, id: 'evt-r2' }));
    expect(again).toMatchObject({ details: { duplicate: true } });
    expect(await planLeft(c)).toBe(toMicro(40));
  });

  it('a rebuild counts a logged debit once when its row is already stored (written, entry not yet removed)', async () => {
    const c = `c-${randomUUID().slice(0, 8)}`;
    const t = seed.tenantId;
    await metering.checks.check(t, request({ customer: c, value: 2, sendEvent: true, id: 'evt-s1' }));
    await metering.checks.check(t, request({ customer: c, value: 1, sendEvent: true, id: 'evt-s2' }));
    // the pipeline's row of evt-s1, as the deduct job writes it before it removes the log entry
    const m = { tenantId: t, customer: c, feature: 'gpt-4', id: 'evt-s1', valueMicro: toMicro(2).toString(), timestamp: Date.now(), source: 'check' } as UsageEventMessage;
    const row = usageRow(m, { plan: Number(toMicro(40)), purchased: 0, overage: 0 }, 'ai-credits', '', Date.now());
    await clickhouse.insert({ table: 'raw_usage_events_v1', values: [row], format: 'JSONEachRow' });
    await redis.del(keys.hydrated(t, c));
    expect(await planLeft(c)).toBe(toMicro(40));
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
