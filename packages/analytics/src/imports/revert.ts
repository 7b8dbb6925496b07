import { ident, raw as rawSql, sql, type ClickHouseClient } from '@tally/clickhouse';

const COLUMNS =
  'tenant_id, customer_id, feature, event_id, value_micro, credits_micro, credits_plan_micro, credits_purchased_micro, credits_overage_micro, credit_system, plan, entity, properties, event_time, ingested_at, source, import_id, reverted, version';

/**
 * Removes an import's events from analytics: each stored row is written again
 * with reverted = 1 and version + 1, server-side in one INSERT … SELECT.
 * ReplacingMergeTree keeps the reverted version; the rollup views count the
 * reverted row negatively, so sums and counts net out exactly.
 * Aliases differ from column names on purpose: ClickHouse aliases are
 * query-wide and would otherwise rewrite the WHERE clause.
 * Idempotent: rows already reverted are skipped, and LIMIT 1 BY keeps one
 * revert per event even if a row was stored twice before a merge.
 */
export async function revertImportRows(client: ClickHouseClient, database: string, tenantId: string, importId: string): Promise<void> {
  const raw = sql`${ident(database)}.${ident('raw_usage_events_v1')}`;
  await client.command({
    query: sql`INSERT INTO ${raw} (${rawSql(COLUMNS)})
      SELECT tenant_id, customer_id, feature, event_id, value_micro, credits_micro, credits_plan_micro, credits_purchased_micro,
             credits_overage_micro, credit_system, plan, entity, properties, event_time, now() AS revert_ingested_at, source, import_id,
             toUInt8(1) AS revert_flag, version + 1 AS revert_version
      FROM ${raw}
      WHERE tenant_id = ${tenantId} AND import_id = ${importId} AND reverted = 0
        AND event_id NOT IN (SELECT event_id FROM ${raw} WHERE tenant_id = ${tenantId} AND import_id = ${importId} AND reverted = 1)
      LIMIT 1 BY event_id`.text,
  });
}
