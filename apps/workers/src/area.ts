import type { Kafka } from 'kafkajs';
import type { Logger } from '@tally/runtime';
import type { Pool } from '@tally/postgres';
import type { ClickHouseClient } from '@tally/clickhouse';
import type { RedisClient } from '@tally/redis';
import type { CatalogDirectory, CatalogService, CustomerService } from '@tally/catalog';
import type { BalanceEvents, BalanceService, Rebuilder } from '@tally/metering';
import type { WorkersConfig } from './config.ts';
import type { WorkerRegistry } from './registry.ts';

/**
 * What main.ts (the composition root) hands every area's start function:
 * connections, and the services built once per process. An area builds only
 * what is its own (its queues, writers, consumers) and never another area's.
 * The types live here, not in workers.ts, so the areas and workers.ts do not
 * import each other.
 */
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
  /** The catalog as metering reads it (one object over the two caches above). */
  directory: CatalogDirectory;
  /** Redis balances rebuilt from Postgres and ClickHouse; shared by the deduct pipeline and billing. */
  rebuilder: Rebuilder;
  balances: BalanceService;
  /** The process's balance-changed signal: the deduct pipeline reports debits to it, billing's hooks listen. */
  balanceEvents: BalanceEvents;
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
