import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequestSchema } from '@tally/contracts';
import { KafkajsProducer } from '@tally/kafka';
import { createMeteringApi } from './services.ts';
import { LocalBalanceEvents } from './balance-events.ts';
import { seedCatalog } from './testing/fixtures.ts';
import { testStores, testTopic } from './testing/stores.ts';

/**
 * /v1/track(/batch)'s service on the real Redis and Kafka (a topic of its
 * own): each event is judged on its own, an id twice in a request is a
 * duplicate (same payload) or a conflict, an id the ledger already applied is
 * a duplicate, and only the accepted events reach Kafka.
 */
const stores = testStores();
const { config, redis, pool, clickhouse, logger } = stores;
const kafkaTopic = testTopic(config, 'ingest');
const { kafka, topic } = kafkaTopic;
const seed = seedCatalog(100);
const metering = createMeteringApi({ redis, pool, clickhouse, directory: seed.directory, logger, clickhouseDatabase: config.CLICKHOUSE_DATABASE, events: new LocalBalanceEvents(), producer: new KafkajsProducer(kafka), topic });

beforeAll(async () => {
  await stores.ready();
  await kafkaTopic.create();
});

afterAll(async () => {
  await metering.close();
  await kafkaTopic.remove();
  await stores.close();
});

const published = kafkaTopic.published;

describe('IngestService.trackBatch', () => {
  it('answers each event on its own and publishes only the accepted ones', async () => {
    const c = `c-${randomUUID().slice(0, 8)}`;
    const before = await published();
    const out = await metering.ingest.trackBatch(seed.tenantId, [
      { id: 'a', customer: c, feature: 'gpt-4', value: 1 },
      { id: 'a', customer: c, feature: 'gpt-4', value: 1 },
      { id: 'a', customer: c, feature: 'gpt-4', value: 2 },
      { id: 'b', customer: c, feature: 'nope' },
      { id: 'c', feature: 'gpt-4' },
      { id: 'd', customer: c, feature: 'dall-e', value: 2 },
    ]);
    expect(out.results.map((r) => r.status)).toEqual(['accepted', 'duplicate', 'conflict', 'rejected', 'rejected', 'accepted']);
    expect(out).toMatchObject({ accepted: 2, duplicates: 1, conflicts: 1, rejected: 2 });
    expect(await published()).toBe(before + 2);
  });

  it('answers an id the ledger already applied as a duplicate, without publishing it again', async () => {
    const c = `c-${randomUUID().slice(0, 8)}`;
    // a strict check applies the id in the ledger at once
    await metering.checks.check(seed.tenantId, checkRequestSchema.parse({ customer: c, feature: 'gpt-4', sendEvent: true, id: 'applied' }));
    const before = await published();
    const out = await metering.ingest.trackBatch(seed.tenantId, [{ id: 'applied', customer: c, feature: 'gpt-4' }]);
    expect(out.results.map((r) => r.status)).toEqual(['duplicate']);
    expect(await published()).toBe(before);
  });
});
