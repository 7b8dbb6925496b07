import { ident, join, raw, sql, type Sql } from '@tally/clickhouse';
import type { UsageQuery } from './usage-query.ts';

/** The columns a /v1/usage question can read from a raw event. */
const COLUMNS = raw('tenant_id, customer_id, feature, credit_system, value_micro, credits_micro, properties, event_time, reverted');

/**
 * raw_usage_events_v1 as /v1/usage reads it: each event once, in its latest
 * version. ReplacingMergeTree collapses a re-inserted row (a pipeline replay)
 * and a revert (the same row with version + 1, reverted = 1) only when parts
 * merge; FINAL does that collapse at read time, so the raw answer is what the
 * rollups hold once every row is counted once. Inside FINAL only sorting-key
 * columns filter (every version of an event shares them, so no pre-filter can
 * separate an event from its revert); the caller filters `reverted = 0` and
 * everything else outside, on the collapsed rows.
 */
export function dedupedRawEvents(database: string, q: UsageQuery): Sql {
  const where: Sql[] = [sql`tenant_id = ${q.tenantId}`, sql`event_time >= ${q.from} AND event_time < ${q.to}`];
  if (q.customers.length) where.push(sql`customer_id IN (${join(q.customers.map((c) => sql`${c}`))})`);
  if (q.features.length) where.push(sql`feature IN (${join(q.features.map((f) => sql`${f}`))})`);
  return sql`(SELECT ${COLUMNS} FROM ${ident(database)}.${ident('raw_usage_events_v1')} FINAL WHERE ${join(where, ' AND ')})`;
}
