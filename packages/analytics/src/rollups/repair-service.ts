import type { ClickHouseClient } from '@tally/clickhouse';
import { AppError } from '@tally/runtime';
import { repairRollups, type SqlRunner } from './repair.ts';
import { compareAndDelete, type RedisClient } from '@tally/redis';

/** The server's ClickHouse behind the repair's two needs. */
export const clickhouseRunner = (client: ClickHouseClient): SqlRunner => ({
  rows: async <T>(query: string) => (await client.query({ query, format: 'JSONEachRow' })).json<T>(),
  exec: async (query: string) => void (await client.command({ query })),
});

const LOCK_MS = 10 * 60_000;

/**
 * Runs `repairRollups` for one tenant, one run at a time per tenant across
 * every API process: two overlapping runs would both insert the same
 * correction (the SummingMergeTree adds corrections), so a second one is
 * refused with 409 while the first holds the lock.
 */
export class RollupRepairService {
  constructor(private readonly deps: { clickhouse: ClickHouseClient; database: string; redis: RedisClient }) {}

  async repair(tenantId: string, from: Date, to: Date): Promise<number> {
    const lock = `tally:{${tenantId}}:rollup-repair`;
    const token = `${process.pid}:${Date.now()}:${Math.random()}`;
    if ((await this.deps.redis.set(lock, token, 'PX', LOCK_MS, 'NX')) !== 'OK') {
      throw new AppError('repair_in_progress', 'a rollup repair of this tenant is already running', { status: 409 });
    }
    try {
      return await repairRollups(clickhouseRunner(this.deps.clickhouse), this.deps.database, tenantId, from, to);
    } finally {
      // Release only our own lock (it may have expired and been taken by a later run).
      await compareAndDelete(this.deps.redis, lock, token);
    }
  }
}
