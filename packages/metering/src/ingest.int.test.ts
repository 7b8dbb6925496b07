import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '@tally/clickhouse';
import { checkRequestSchema } from '@tally/contracts';
import { createKafka, KafkajsAdmin, KafkajsProducer } from '@tally/kafka';
import { createPool } from '@tally/postgres';
import { createRedis } from '@tally/redis';
import { createLogger, parseConfig, sharedEnv } from '@tally/runtime';
import { createMeteringApi } from './services.ts';
import { LocalBalanceEvents } from './balance-events.ts';
import { seedCatalog } from './testing/fixtures.ts';

/**
 * /v1/track(/batch)'s service on the real Redis and Kafka (a topic of its
 * own): each event is judged on its own, an id twice in a request is a
 * duplicate (same payload) or a conflict, an id the ledger already applied is
 * a duplicate, and only the accepted events reach Kafka.
 */
const config = parseConfig(sharedEnv);
const redis = createRedis(config.REDIS_URL);
const pool = createPool(config.DATABASE_URL, 2);
const clickhouse = createClickHouse({ url: config.CLICKHOUSE_URL, database: config.CLICKHOUSE_DATABASE, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });
const logger = createLogger('test', 'silent');
const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'tally-ingest-int' });
const topic = `tally.ingest-int-${randomUUID().slice(0, 8)}`;
const admin = new KafkajsAdmin(kafka);
const raw = kafka.admin();
const seed = seedCatalog(100);
const metering = createMeteringApi({ redis, pool, clickhouse, directory: seed.directory, logger, clickhouseDatabase: config.CLICKHOUSE_DATABASE, events: new LocalBalanceEvents(), producer: new KafkajsProducer(kafka), topic });

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

const published = async () => {
  const [p] = await raw.fetchTopicOffsets(topic);
  return Number(p!.high);
};

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
