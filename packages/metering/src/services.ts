import type { Redis } from 'ioredis';
import type { Pool } from '@tally/postgres';
import type { ClickHouseClient } from '@tally/clickhouse';
import type { Logger } from '@tally/runtime';
import type { MeteringDirectory } from './directory.ts';
import { Rebuilder } from './rebuild.ts';
import { BalanceService } from './balance-service.ts';

export interface MeteringDeps {
  redis: Redis;
  pool: Pool;
  clickhouse: ClickHouseClient;
  /** @tally/catalog's services: `{ snapshot: (t) => catalog.snapshot(t), context: (t, c) => customers.context(t, c) }` */
  directory: MeteringDirectory;
  logger: Logger;
  clickhouseDatabase: string;
}

/** The balance side of metering, for any process (API, workers, billing). */
export function createBalanceServices(deps: MeteringDeps): { rebuilder: Rebuilder; balances: BalanceService } {
  const rebuilder = new Rebuilder(deps, deps.clickhouseDatabase);
  return { rebuilder, balances: new BalanceService(deps.redis, deps.directory, rebuilder) };
}
