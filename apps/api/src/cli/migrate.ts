/**
 * Brings every store to the current schema: the Postgres database and its
 * migrations, the ClickHouse database and its migrations, and the Kafka topics.
 * Safe to run any number of times (npm start and npm test run it every time).
 */
import { parseConfig, sharedEnv } from '@tally/runtime';
import { createPool, ensureDatabase, migratePostgres } from '@tally/postgres';
import { migrateClickHouse } from '@tally/clickhouse';
import { createKafka, KafkajsAdmin } from '@tally/kafka';

const config = parseConfig(sharedEnv);

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
  await admin.ensureTopic(config.KAFKA_TOPIC_EVENTS, config.KAFKA_PARTITIONS, config.KAFKA_REPLICATION_FACTOR);
  console.log(`kafka: topic ${config.KAFKA_TOPIC_EVENTS} (${config.KAFKA_PARTITIONS} partitions) ready`);
} finally {
  await admin.disconnect();
}
