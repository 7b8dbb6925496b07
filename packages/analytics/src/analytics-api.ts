import type { ClickHouseClient } from '@tally/clickhouse';
import type { Pool } from '@tally/postgres';
import type { RedisClient } from '@tally/redis';
import { ImportService } from './imports/import-service.ts';
import { ImportStore } from './imports/import-store.ts';
import { createImportQueue } from './imports/import.queue.ts';
import type { SpoolLimits } from './imports/spool-limits.ts';
import { clickhouseRunner } from './rollups/clickhouse-runner.ts';
import { RedisRepairLock } from './rollups/repair-lock.ts';
import { RollupRepairService } from './rollups/repair-service.ts';
import { ClickHouseUsageEvents } from './usage/usage-events.ts';
import { UsageService } from './usage/usage-service.ts';

export interface AnalyticsApiDeps {
  pool: Pool;
  redis: RedisClient;
  redisUrl: string;
  clickhouse: ClickHouseClient;
  clickhouseDatabase: string;
  /** The import queue's name (IMPORT_QUEUE). */
  importQueue: string;
  /** Where uploads are spooled (importDirs(importRoot(config))): shared with the workers. */
  dataDir: (importId: string) => string;
  importLimits: SpoolLimits;
}

export interface AnalyticsApi {
  imports: ImportService;
  usage: UsageService;
  repairs: RollupRepairService;
  close(): Promise<void>;
}

/** What the API needs for /v1/imports, /v1/usage and the rollup repair: each built once, over its store. */
export function createAnalyticsApi(deps: AnalyticsApiDeps): AnalyticsApi {
  const queue = createImportQueue(deps.redisUrl, deps.importQueue);
  return {
    imports: new ImportService({ store: new ImportStore(deps.pool), queue, dataDir: deps.dataDir, limits: deps.importLimits }),
    usage: new UsageService(new ClickHouseUsageEvents(deps.clickhouse, deps.clickhouseDatabase)),
    repairs: new RollupRepairService({ runner: clickhouseRunner(deps.clickhouse), database: deps.clickhouseDatabase, lock: new RedisRepairLock(deps.redis) }),
    close: () => queue.close(),
  };
}
