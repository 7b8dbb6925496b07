import type { Kafka } from 'kafkajs';
import type { Logger } from '@tally/runtime';
import type { Pool } from '@tally/postgres';
import type { ClickHouseClient } from '@tally/clickhouse';
import type { CatalogService, CustomerService } from '@tally/catalog';
import type { WorkersConfig } from './config.ts';
import type { WorkerRegistry } from './registry.ts';
import { startAnalytics } from './analytics.ts';
import { startMetering } from './metering.ts';
import { startBilling } from './billing.ts';
import { startPurchaseMirror } from './purchase-mirror.ts';
import { declareSchedules, startSchedules } from './schedules.ts';
import type { RedisClient } from '@tally/redis';

export interface WorkersDeps {
  config: WorkersConfig;
  logger: Logger;
  pool: Pool;
  redis: RedisClient;
  clickhouse: ClickHouseClient;
  kafka: Kafka;
  registry: WorkerRegistry;
  /** Built once per process, invalidated across processes through the change bus. */
  catalog: CatalogService;
  customers: CustomerService;
}

export interface ShutdownStep {
  name: string;
  run: () => Promise<void>;
}

export interface RunningWorkers {
  /** Run before BullMQ workers close, in order (e.g. stop the Kafka consumer). */
  beforeWorkersClose: ShutdownStep[];
  /** Run after BullMQ workers finished their jobs, in order (e.g. flush the ClickHouse writer). */
  afterWorkersClose: ShutdownStep[];
}

/**
 * Starts every consumer and BullMQ processor of the workers app. Each area
 * (metering, billing, analytics) adds its own start function here.
 */
export async function startWorkers(deps: WorkersDeps): Promise<RunningWorkers> {
  const metering = await startMetering(deps);
  const analytics = await startAnalytics(deps);
  const billing = await startBilling(deps);
  const mirror = await startPurchaseMirror(deps);
  // Every periodic job, once per tick across all workers processes (schedules.ts). Their workers close
  // with the registry's; their queues after it (so before the areas' own connections in afterWorkersClose).
  const jobs = declareSchedules(deps.config, { ...metering.periodic, ...billing.periodic, ...mirror.periodic });
  const schedules = await startSchedules({ redisUrl: deps.config.REDIS_URL, registry: deps.registry, jobs });
  const periodic: RunningWorkers = { beforeWorkersClose: [], afterWorkersClose: [{ name: 'close the periodic queues', run: schedules.close }] };
  const areas: RunningWorkers[] = [metering, analytics, billing, mirror, periodic];
  return {
    beforeWorkersClose: areas.flatMap((a) => a.beforeWorkersClose),
    afterWorkersClose: areas.flatMap((a) => a.afterWorkersClose),
  };
}
