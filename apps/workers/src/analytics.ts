import type { Job } from 'bullmq';
import { ImportProcessor, ImportStore, KafkaApplySink, createImportQueue, importDirs, importRoot } from '@tally/analytics';
import { KafkajsProducer } from '@tally/kafka';
import { importJobSchema, type ImportJob } from '@tally/contracts';
import type { RunningWorkers, WorkersDeps } from './workers.ts';

/**
 * The "import" queue: chunk jobs (report imports straight to ClickHouse) and
 * revert jobs. One import's chunks run in order (each enqueues the next), so
 * concurrency only interleaves different imports.
 */
export async function startAnalytics(deps: WorkersDeps): Promise<RunningWorkers> {
  const queue = createImportQueue(deps.config.REDIS_URL, deps.config.IMPORT_QUEUE);
  const catalog = deps.catalog;
  // Apply imports go through the metering pipeline; the producer connects on first send.
  const producer = new KafkajsProducer(deps.kafka);
  const processor = new ImportProcessor({
    store: new ImportStore(deps.pool),
    pool: deps.pool,
    redis: deps.redis,
    clickhouse: deps.clickhouse,
    database: deps.config.CLICKHOUSE_DATABASE,
    queue,
    dataDir: importDirs(importRoot(deps.config)),
    catalog: (tenantId) => catalog.snapshot(tenantId),
    applySink: new KafkaApplySink(producer, deps.config.KAFKA_TOPIC_EVENTS),
    logger: deps.logger,
  });
  deps.registry.register<ImportJob>(
    deps.config.IMPORT_QUEUE,
    async (job: Job<ImportJob>) => {
      const data = importJobSchema.parse(job.data);
      if (data.kind === 'chunk') await processor.processChunk(data.importId, data.tenantId, data.chunk);
      else await processor.revert(data.importId, data.tenantId);
    },
    2,
  );
  return {
    beforeWorkersClose: [],
    afterWorkersClose: [
      { name: 'close import queue', run: () => queue.close() },
      { name: 'disconnect import producer', run: () => producer.disconnect().catch(() => {}) },
    ],
  };
}
