import { Queue } from 'bullmq';
import { BatchingWriter } from '@tally/clickhouse';
import type { DeductJob } from '@tally/contracts';
import { KafkajsConsumer, KafkajsProducer } from '@tally/kafka';
import { createBridge, deadLetterSink, deductQueueName, DeductService, Rebuilder, StrictOutboxSweeper, type UsageRow } from '@tally/metering';
import { bullConnection } from '@tally/redis';
import { counter, histogram } from '@tally/runtime';
import { deductProcessor } from './metering-deduct.processor.ts';
import type { PeriodicHandlers } from './schedules.ts';
import type { RunningWorkers, WorkersDeps } from './workers.ts';

const flushedRows = counter('tally_clickhouse_rows_written_total', 'rows inserted into raw_usage_events_v1');
const flushSeconds = histogram('tally_clickhouse_flush_seconds', 'duration of one batched insert');
const flushErrors = counter('tally_clickhouse_flush_errors_total', 'failed batched inserts (the jobs retry)');
const deadLetters = counter('tally_usage_dead_letters_total', 'usage rows ClickHouse refused for their content, stored in usage_dead_letters');

/**
 * The metering pipeline: Kafka consumer group -> BullMQ "deduct" jobs ->
 * ledger (Redis Lua) -> raw usage rows (ClickHouse, batched).
 */
export async function startMetering(deps: WorkersDeps): Promise<RunningWorkers & { periodic: Pick<PeriodicHandlers, 'strictOutbox'> }> {
  const { config, logger, pool, redis, clickhouse, kafka, registry, catalog, customers } = deps;
  const directory = { snapshot: (t: string) => catalog.snapshot(t), context: (t: string, c: string) => customers.context(t, c) };
  const storeDeadLetters = deadLetterSink<UsageRow>(pool, 'raw_usage_events_v1', (row) => row.tenant_id);
  const writer = new BatchingWriter<UsageRow>(clickhouse, config.CLICKHOUSE_DATABASE, 'raw_usage_events_v1', {
    maxRows: 20_000,
    maxDelayMs: 100,
    onFlush: (rows, ms) => {
      flushedRows.inc(rows);
      flushSeconds.observe(ms / 1000);
    },
    onError: (err, rows) => {
      flushErrors.inc();
      logger.warn({ err, rows }, 'clickhouse insert failed; the deduct jobs will retry');
    },
    // A row ClickHouse refuses for its content is stored in Postgres and its job completes,
    // so it neither retries forever nor holds up the other rows of its batch.
    deadLetter: async (rows, reason) => {
      const stored = await storeDeadLetters(rows, reason);
      deadLetters.inc(stored);
      logger.error({ rows: rows.length, stored, reason, events: rows.slice(0, 20).map((r) => [r.tenant_id, r.event_id]) }, 'clickhouse refused usage rows; stored as dead letters');
    },
  });
  const rebuilder = new Rebuilder({ redis, pool, clickhouse, directory, logger }, config.CLICKHOUSE_DATABASE);
  const service = new DeductService({ redis, rebuilder, directory, writer, clickhouse, logger });

  const queueName = deductQueueName(config.KAFKA_CONSUMER_GROUP);
  const queue = new Queue<DeductJob>(queueName, { connection: bullConnection(config.REDIS_URL) });
  // Jobs wait for their rows' insert, so several run at once to fill each batch.
  // A killed worker's job is taken over after ~10 s, and never failed for having stalled:
  // replaying a deduct job is safe (see DeductService), dropping one would lose usage.
  registry.register<DeductJob>(queueName, deductProcessor(service), Math.max(config.WORKER_CONCURRENCY, 16), {
    lockDuration: 10_000,
    stalledInterval: 5_000,
    maxStalledCount: 1_000_000,
  });

  const consumer = new KafkajsConsumer(kafka, { groupId: config.KAFKA_CONSUMER_GROUP, partitionsConsumedConcurrently: 6 });
  await consumer.connect();
  await consumer.run(config.KAFKA_TOPIC_EVENTS, createBridge(queue, logger));
  logger.info({ topic: config.KAFKA_TOPIC_EVENTS, group: config.KAFKA_CONSUMER_GROUP, queue: queueName }, 'metering pipeline started');

  // The strict path's outbox: events debited by a check whose process died before publishing them.
  const producer = new KafkajsProducer(kafka);
  const outbox = new StrictOutboxSweeper({ redis, producer, topic: config.KAFKA_TOPIC_EVENTS, logger });

  return {
    // the "strict-outbox" periodic job (schedules.ts, STRICT_OUTBOX_SWEEP_EVERY_MS): once per tick across processes
    periodic: { strictOutbox: async () => void (await outbox.sweep()) },
    beforeWorkersClose: [
      { name: 'stop the usage consumer', run: () => consumer.disconnect() },
    ],
    afterWorkersClose: [
      // after the periodic workers closed: a running outbox sweep has finished with the producer
      { name: 'disconnect the strict outbox producer', run: () => producer.disconnect().catch(() => {}) },
      { name: 'flush the clickhouse writer', run: () => writer.close() },
      { name: 'close the deduct queue', run: () => queue.close() },
    ],
  };
}
