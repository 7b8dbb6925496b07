/**
 * Brings every store to the current schema: the Postgres database and its
 * migrations, the ClickHouse database and its migrations, and the Kafka topics.
 * Safe to run any number of times (npm start and npm test run it every time).
 */
import { z } from 'zod';
import { parseConfig, sharedEnv } from '@tally/runtime';
import { createPool, ensureDatabase, migratePostgres } from '@tally/postgres';
import { migrateClickHouse } from '@tally/clickhouse';
import { createKafka, KafkajsAdmin } from '@tally/kafka';

/**
 * KAFKA_MIN_INSYNC_REPLICAS: the events topic's min.insync.replicas, set when the topic is created (the cluster
 * profile sets 2 with replication factor 3). Unset: the broker's default (1 on the single local broker).
 */
const migrateEnv = sharedEnv
  .extend({ KAFKA_MIN_INSYNC_REPLICAS: z.coerce.number().int().min(1).optional() })
  .refine((env) => (env.KAFKA_MIN_INSYNC_REPLICAS ?? 1) <= env.KAFKA_REPLICATION_FACTOR, {
    path: ['KAFKA_MIN_INSYNC_REPLICAS'],
    message: 'must not exceed KAFKA_REPLICATION_FACTOR (no acks=all produce could ever succeed)',
  });
const config = parseConfig(migrateEnv);

await ensureDatabase(config.DATABASE_URL);
const pool = createPool(config.DATABASE_URL, 2);
try {
  const applied = await migratePostgres(pool);
  console.log(`postgres: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
} finally {
  await pool.end();
}

const chApplied = await migrateClickHouse({
  url: config.CLICKHOUSE_URL,
  database: config.CLICKHOUSE_DATABASE,
  username: config.CLICKHOUSE_USER,
  password: config.CLICKHOUSE_PASSWORD,
});
console.log(`clickhouse: ${chApplied.length ? `applied ${chApplied.join(', ')}` : 'up to date'}`);

const admin = new KafkajsAdmin(createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-migrate` }));
try {
  const topicConfig: Record<string, string> =
    config.KAFKA_MIN_INSYNC_REPLICAS === undefined ? {} : { 'min.insync.replicas': String(config.KAFKA_MIN_INSYNC_REPLICAS) };
  await admin.ensureTopic(config.KAFKA_TOPIC_EVENTS, config.KAFKA_PARTITIONS, config.KAFKA_REPLICATION_FACTOR, topicConfig);
  const shape = [`${config.KAFKA_PARTITIONS} partitions`, `replication factor ${config.KAFKA_REPLICATION_FACTOR}`];
  if (topicConfig['min.insync.replicas']) shape.push(`min.insync.replicas ${topicConfig['min.insync.replicas']}`);
  console.log(`kafka: topic ${config.KAFKA_TOPIC_EVENTS} (${shape.join(', ')}) ready`);
} finally {
  await admin.disconnect();
}
