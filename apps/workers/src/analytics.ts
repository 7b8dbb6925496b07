import {
  ClickHouseImportEvents,
  IMPORT_CONCURRENCY,
  ImportProcessor,
  ImportStore,
  KafkaApplySink,
  RedisImportLedger,
  createImportQueue,
  importDirs,
  importProcessor,
  importWorkerOptions,
  importRoot,
  withReportImportLock,
} from '@tally/analytics';
import { KafkajsProducer } from '@tally/kafka';
import type { RunningWorkers, WorkersDeps } from './area.ts';

/**
 * The "import" queue (packages/analytics imports/import.queue.ts and
 * import.processor.ts): built and registered here, run there.
 */
export async function startAnalytics(deps: WorkersDeps): Promise<RunningWorkers> {
  const queue = createImportQueue(deps.config.REDIS_URL, deps.config.IMPORT_QUEUE);
  // Apply imports go through the metering pipeline; the producer connects on first send.
  const producer = new KafkajsProducer(deps.kafka);
  const store = new ImportStore(deps.pool);
  const imports = new ImportProcessor({
    store,
    ledger: new RedisImportLedger(deps.redis),
    reportLock: (tenantId, fn) => withReportImportLock(deps.pool, tenantId, fn),
    events: new ClickHouseImportEvents(deps.clickhouse, deps.config.CLICKHOUSE_DATABASE),
    queue,
    dataDir: importDirs(importRoot(deps.config)),
    catalog: (tenantId) => deps.directory.snapshot(tenantId),
    applySink: new KafkaApplySink(producer, deps.config.KAFKA_TOPIC_EVENTS),
    logger: deps.logger,
  });
  deps.registry.register(deps.config.IMPORT_QUEUE, importProcessor({ imports, store, logger: deps.logger }), IMPORT_CONCURRENCY, importWorkerOptions);
  return {
    beforeWorkersClose: [],
    afterWorkersClose: [
      { name: 'close import queue', run: () => queue.close() },
      { name: 'disconnect import producer', run: () => producer.disconnect().catch(() => {}) },
    ],
  };
}
