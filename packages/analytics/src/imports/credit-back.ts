import { ident, queryRows, sql, type ClickHouseClient } from '@tally/clickhouse';
import { keys, type RedisClient } from '@tally/redis';
import { AppError } from '@tally/runtime';

/**
 * Waits (by failing retryably) until the metering pipeline has stored a row
 * for every event an apply import handed to Kafka: reverting earlier would
 * miss rows that are still on their way and let them debit afterwards.
 */
export async function assertApplyRowsStored(client: ClickHouseClient, database: string, tenantId: string, importId: string, accepted: number): Promise<void> {
  const [row] = await queryRows<{ n: string }>(
    client,
    sql`SELECT uniqExact(event_id) AS n FROM ${ident(database)}.raw_usage_events_v1 WHERE tenant_id = ${tenantId} AND import_id = ${importId}`,
  );
  const stored = Number(row?.n ?? 0);
  if (stored < accepted) {
    throw new AppError('import_rows_pending', `${accepted - stored} events of the import are not stored yet`, { retryable: true });
  }
}

/**
 * Gives an apply import's credits back, exactly: once its rows are reverted in
 * ClickHouse, each affected customer's Redis state is dropped, and metering
 * rebuilds it on next use from the grants ledger (Postgres) and the usage in
 * ClickHouse without reverted rows (the Rebuilder's contract: Redis balances
 * are a cache that is rebuilt to the same numbers). So the refund is the
 * same computation as any rebuild, with no second bookkeeping to drift.
 */
export async function creditBack(client: ClickHouseClient, redis: RedisClient, database: string, tenantId: string, importId: string): Promise<number> {
  const customers = await queryRows<{ customer_id: string }>(
    client,
    sql`SELECT DISTINCT customer_id FROM ${ident(database)}.raw_usage_events_v1 WHERE tenant_id = ${tenantId} AND import_id = ${importId}`,
  );
  for (let i = 0; i < customers.length; i += 500) {
    const batch = customers.slice(i, i + 500).map((c) => keys.hydrated(tenantId, c.customer_id));
    // One DEL per customer: keys of different customers may live in different cluster slots.
    await Promise.all(batch.map((k) => redis.del(k)));
  }
  return customers.length;
}
