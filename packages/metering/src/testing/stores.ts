import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { clickHouseFromEnv } from '@tally/clickhouse';
import { createKafka, KafkajsAdmin } from '@tally/kafka';
import { createPool } from '@tally/postgres';
import { createRedis } from '@tally/redis';
import { createLogger, parseConfig, sharedEnv, type SharedEnv } from '@tally/runtime';

/**
 * The real stores a metering integration test runs on (deploy/local), one set
 * per test file: `beforeAll(stores.ready)`, and `stores.close()` last in its
 * afterAll (after whatever it built over them).
 */
export function testStores(poolSize = 2) {
  const config = parseConfig(sharedEnv);
  const redis = createRedis(config.REDIS_URL);
  const pool = createPool(config.DATABASE_URL, poolSize);
  const clickhouse = clickHouseFromEnv(config);
  const logger = createLogger('test', 'silent');
  return {
    config, redis, pool, clickhouse, logger,
    ready: async () => {
      if (redis.status !== 'ready') await once(redis, 'ready');
    },
    close: async () => {
      redis.disconnect();
      await pool.end();
      await clickhouse.close();
    },
  };
}

/** A Kafka topic of the test's own (`tally.<name>-int-<random>`): `create()` before, `remove()` after. */
export function testTopic(config: SharedEnv, name: string) {
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `tally-${name}-int` });
  const topic = `tally.${name}-int-${randomUUID().slice(0, 8)}`;
  const admin = new KafkajsAdmin(kafka);
  const raw = kafka.admin();
  return {
    kafka, topic,
    create: async () => {
      await admin.ensureTopic(topic, 1, config.KAFKA_REPLICATION_FACTOR);
      await raw.connect();
    },
    /** How many messages the topic holds (its one partition's high watermark). */
    published: async () => {
      const [p] = await raw.fetchTopicOffsets(topic);
      return Number(p!.high);
    },
    remove: async () => {
      await raw.deleteTopics({ topics: [topic] }).catch(() => {});
      await raw.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
    },
  };
}
