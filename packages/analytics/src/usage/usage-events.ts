import { queryRows, type ClickHouseClient } from '@tally/clickhouse';
import { buildUsageSql, type UsageQuery, type UsageSource } from './usage-query.ts';

/** One result row of a usage query: bucket, g0…gN (the group keys) and one column per aggregation. */
export type UsageResultRow = Record<string, string | number>;

/** The event store as /v1/usage reads it: the rollups where they suffice, the raw events otherwise. */
export interface UsageEvents {
  /** The rows answering `q` (at most q.limit), and the table that answered. */
  select(q: UsageQuery): Promise<{ source: UsageSource; rows: UsageResultRow[] }>;
}

/** Thrown when the server cannot load a time zone this process knows (its tz database is older, or newer). */
export class UnknownTimeZoneError extends Error {
  constructor(readonly zone: string, cause: unknown) {
    super(`ClickHouse cannot load time zone ${zone}`, { cause });
  }
}

/** UsageEvents over ClickHouse: the SQL of usage-query.ts, run as one JSONEachRow SELECT. */
export class ClickHouseUsageEvents implements UsageEvents {
  constructor(
    private readonly clickhouse: ClickHouseClient,
    private readonly database: string,
  ) {}

  async select(q: UsageQuery): Promise<{ source: UsageSource; rows: UsageResultRow[] }> {
    const { source, query } = buildUsageSql(q, this.database);
    try {
      return { source, rows: await queryRows<UsageResultRow>(this.clickhouse, query) };
    } catch (err) {
      if (/Cannot load time zone/.test((err as Error).message ?? '')) throw new UnknownTimeZoneError(q.timezone, err);
      throw err;
    }
  }
}
