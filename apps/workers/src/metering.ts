import { Queue } from 'bullmq';
import type { Admin } from 'kafkajs';
import { BatchingWriter } from '@tally/clickhouse';
import type { DeductJob } from '@tally/contracts';
import { KafkajsAdmin, KafkajsConsumer, KafkajsProducer, whileRetriable } from '@tally/kafka';
import {
  createBridge,
  DeadLetterRepo,
  deadLetterSink,
  DEDUCT_MIN_CONCURRENCY,
  deductProcessor,
  deductQueueName,
  createDeductService,
  deductWorkerOptions,
  FairShare,
  StrictOutboxSweeper,
  type UsageRow,
} from '@tally/metering';
import { ownBull } from '@tally/redis';
import { counter, histogram } from '@tally/runtime';
import type { PeriodicHandlers } from './schedules.ts';
import type { RunningWorkers, WorkersDeps } from './area.ts';

const flushedRows = counter('tally_clickhouse_rows_written_total', 'rows inserted into raw_usage_events_v1');
const flushSeconds = histogram('tally_clickhouse_flush_seconds', 'duration of one batched insert');
const flushErrors = counter('tally_clickhouse_flush_errors_total', 'failed batched inserts (the jobs retry)');
const deadLetters = counter('tally_usage_dead_letters_total', 'usage rows ClickHouse refused for their content, stored in usage_dead_letters');

/**
 * The metering pipeline: Kafka consumer group -> BullMQ "deduct" jobs ->
 * ledger (Redis Lua) -> raw usage rows (ClickHouse, batched).
 */
export async function startMetering(deps: WorkersDeps): Promise<RunningWorkers & { periodic: Pick<PeriodicHandlers, 'strictOutbox'> }> {
  // the process's one directory and Rebuilder (main.ts), shared with billing
  const { config, logger, pool, redis, clickhouse, kafka, registry, directory, rebuilder, balanceEvents } = deps;
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
  const service = createDeductService({ redis, clickhouse, rebuilder, directory, writer, logger, events: balanceEvents });

  const queueName = deductQueueName(config.KAFKA_CONSUMER_GROUP);
  const queue = ownBull(config.REDIS_URL, (o) => new Queue<DeductJob>(queueName, o));
  // the queue pair lives in metering (pipeline/deduct.queue.ts, deduct.processor.ts); registered here
  const processor = deductProcessor({ service, deadLetters: new DeadLetterRepo(pool), logger });
  registry.register(queueName, processor, Math.max(config.WORKER_CONCURRENCY, DEDUCT_MIN_CONCURRENCY), deductWorkerOptions);

  // The strict path's outbox (events debited by a check whose process died before publishing them);
  // the same producer hands the events of tenants over their share to the deferred lane.
  const producer = new KafkajsProducer(kafka);
  const outbox = new StrictOutboxSweeper({ redis, producer, topic: config.KAFKA_TOPIC_EVENTS, logger });

  // Fair share (pipeline/fair-share.ts): the main lane moves a flooding tenant's events to the deferred
  // topic, consumed by a group of its own into the same deduct jobs, so it never queues ahead of the others.
  const lanes = config.FAIR_SHARE_EVENTS > 0 ? await startDeferredLane(deps, queue, producer) : null;
  // With the fair share, the main lane fetches 1 MiB a partition (not 4): a quiet tenant waits for about two
  // of its cycles, and a cycle moves or applies one fetch (docs/metering.md "Fair share").
  const consumer = new KafkajsConsumer(kafka, {
    groupId: config.KAFKA_CONSUMER_GROUP,
    partitionsConsumedConcurrently: 6,
    ...(lanes ? { maxBytesPerPartition: MAIN_LANE_FETCH_BYTES } : {}),
  });
  await consumer.connect();
  await consumer.run(config.KAFKA_TOPIC_EVENTS, createBridge(queue, logger, lanes ? { fairShare: lanes.fairShare } : {}));
  logger.info(
    { topic: config.KAFKA_TOPIC_EVENTS, group: config.KAFKA_CONSUMER_GROUP, queue: queueName, fairShareEvents: config.FAIR_SHARE_EVENTS },
    'metering pipeline started',
  );

  return {
    // the "strict-outbox" periodic job (schedules.ts, STRICT_OUTBOX_SWEEP_EVERY_MS): once per tick across processes
    periodic: { strictOutbox: async () => void (await outbox.sweep()) },
    beforeWorkersClose: [
      { name: 'stop the usage consumer', run: () => consumer.disconnect() },
      ...(lanes ? [{ name: 'stop the deferred-lane consumer', run: () => lanes.stop() }] : []),
    ],
    afterWorkersClose: [
      // after the periodic workers closed: a running outbox sweep has finished with the producer
      { name: 'disconnect the strict outbox producer', run: () => producer.disconnect().catch(() => {}) },
      { name: 'flush the clickhouse writer', run: () => writer.close() },
      { name: 'close the deduct queue', run: () => queue.close() },
    ],
  };
}

const MAIN_LANE_FETCH_BYTES = 1024 * 1024;

export const deferredTopic = (eventsTopic: string) => `${eventsTopic}.deferred`;
export const deferredGroup = (consumerGroup: string) => `${consumerGroup}-deferred`;

/** The deferred lane: its topic (created here if missing), its consumer group, and the main lane's view of it. */
async function startDeferredLane(deps: WorkersDeps, queue: Queue<DeductJob>, producer: KafkajsProducer) {
  const { config, logger, kafka, redis } = deps;
  const topic = deferredTopic(config.KAFKA_TOPIC_EVENTS);
  // each main-lane partition's deferred tenants, for its next owner
  const laneKey = (partition: number) => `tally:fair-share:${config.KAFKA_CONSUMER_GROUP}:${partition}`;
  const groupId = deferredGroup(config.KAFKA_CONSUMER_GROUP);
  const admin = kafka.admin();
  await admin.connect();
  // the events topic may be moments old and unknown to the broker asked (several brokers)
  await whileRetriable(() => ensureDeferredTopic(kafka, admin, config.KAFKA_TOPIC_EVENTS, topic));
  const fairShare = new FairShare({
    shareEvents: config.FAIR_SHARE_EVENTS,
    defer: (messages) => producer.send(topic, messages),
    deferredDrained: () => deferredDrained(admin, topic, groupId),
    store: {
      load: async (partition) => {
        const saved = await redis.get(laneKey(partition));
        return saved === null ? null : (JSON.parse(saved) as string[]);
      },
      save: async (partition, tenants) => void (await redis.set(laneKey(partition), JSON.stringify(tenants), 'EX', 7 * 24 * 3600)),
    },
  });
  const consumer = new KafkajsConsumer(kafka, { groupId, partitionsConsumedConcurrently: 6 });
  await consumer.connect();
  await consumer.run(topic, createBridge(queue, logger));
  return {
    fairShare,
    stop: async () => {
      await consumer.disconnect();
      await admin.disconnect();
    },
  };
}

/**
 * The deferred topic has the events topic's shape: its partition count, replication factor and
 * min.insync.replicas (an acknowledged move is as durable as the event was). Two workers
 * processes starting at once may both try: the second finds it created.
 */
async function ensureDeferredTopic(kafka: WorkersDeps['kafka'], admin: Admin, eventsTopic: string, topic: string): Promise<void> {
  if ((await admin.listTopics()).includes(topic)) return;
  const [events] = (await admin.fetchTopicMetadata({ topics: [eventsTopic] })).topics;
  if (!events || events.partitions.length === 0) throw new Error(`the events topic ${eventsTopic} does not exist (run the migrations)`);
  const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2 /* TOPIC */, name: eventsTopic, configNames: ['min.insync.replicas'] }] });
  const minIsr = described.resources[0]?.configEntries.find((e) => e.configName === 'min.insync.replicas' && !e.isDefault);
  // KafkajsAdmin.ensureTopic waits for every partition's leader itself (kafkajs' waitForLeaders throws on a
  // multi-broker cluster whose asked broker has not seen the topic yet)
  const topics = new KafkajsAdmin(kafka);
  try {
    await topics.ensureTopic(topic, events.partitions.length, events.partitions[0]!.replicas.length, minIsr ? { 'min.insync.replicas': minIsr.configValue } : {});
  } catch (err) {
    if (!/already exists/i.test(String((err as Error).message))) throw err;
  } finally {
    await topics.disconnect().catch(() => {});
  }
}

/** Every partition of the deferred topic is committed (its jobs completed) up to its end, or empty. */
async function deferredDrained(admin: Admin, topic: string, groupId: string): Promise<boolean> {
  const [ends, groups] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const committed = new Map((groups[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  return ends.every((e) => BigInt(e.low) === BigInt(e.high) || (committed.get(e.partition) ?? -1n) >= BigInt(e.high));
}
