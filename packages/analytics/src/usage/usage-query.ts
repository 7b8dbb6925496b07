import { ident, join, raw, sql, type Sql } from '@tally/clickhouse';
import type { UsageAggregation, UsageWindow } from '@tally/contracts';
import { dedupedRawEvents } from './raw-events.ts';

export type GroupKey = 'customer' | 'feature' | 'creditSystem' | `property:${string}`;

/** A validated /v1/usage question, always for one tenant. */
export interface UsageQuery {
  tenantId: string;
  customers: string[];
  features: string[];
  creditSystems: string[];
  /** Property equality filters, [name, value]. */
  properties: [string, string][];
  from: Date;
  to: Date;
  groupBy: GroupKey[];
  window: UsageWindow | null;
  timezone: string;
  aggregations: UsageAggregation[];
  orderBy: UsageAggregation | null;
  limit: number;
  /** Keyset pagination: only groups whose key (bucket, g0, g1…) sorts after this one. */
  after?: (string | number)[] | null;
}

/** `AND (bucket, g0, …) > (…)`, for HAVING (the keys are SELECT aliases), or nothing. */
function afterKey(q: UsageQuery, keyNames: string[]): Sql {
  if (!q.after?.length) return raw('');
  return sql` AND (${raw(keyNames.join(', '))}) > (${join(q.after.map((v) => sql`${v}`))})`;
}

export type UsageSource = 'usage_per_hour_v1' | 'usage_per_day_v1' | 'raw_usage_events_v1';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * The IANA name of `zone` as ClickHouse expects it ("europe/paris" -> "Europe/Paris", "utc" -> "UTC"),
 * or null when Intl does not know it. ClickHouse matches names case-sensitively.
 */
export function canonicalZone(zone: string): string | null {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** UTC offset of `zone` at `at`, in minutes (Intl; throws RangeError on an unknown zone). */
export function zoneOffsetMinutes(zone: string, at: Date): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((local - Math.floor(at.getTime() / 1000) * 1000) / 60_000);
}

/**
 * The cheapest table that answers the question exactly. Rollups hold sums and
 * counts per whole hour (or UTC day) by customer, feature and credit system;
 * anything finer or beyond those columns (minutes, properties, max) needs the
 * raw events.
 */
export function chooseSource(q: UsageQuery): UsageSource {
  const needsRaw =
    q.window === 'minute' ||
    q.properties.length > 0 ||
    q.groupBy.some((g) => g.startsWith('property:')) ||
    q.aggregations.includes('max_value');
  if (needsRaw) return 'raw_usage_events_v1';
  const from = q.from.getTime();
  const to = q.to.getTime();
  if (from % HOUR_MS !== 0 || to % HOUR_MS !== 0) return 'raw_usage_events_v1';
  // Hour buckets regroup into local days/months only when the zone's offset is whole hours.
  const wholeHours = [q.from, q.to].every((d) => zoneOffsetMinutes(q.timezone, d) % 60 === 0);
  if (!wholeHours) return 'raw_usage_events_v1';
  const utc = zoneOffsetMinutes(q.timezone, q.from) === 0 && zoneOffsetMinutes(q.timezone, q.to) === 0;
  if (utc && from % DAY_MS === 0 && to % DAY_MS === 0 && q.window !== 'hour') return 'usage_per_day_v1';
  return 'usage_per_hour_v1';
}

function bucketExpr(source: UsageSource, window: UsageWindow, tz: string): Sql {
  if (source === 'usage_per_day_v1') {
    return window === 'month' ? raw('toDateTime(toStartOfMonth(day), \'UTC\')') : raw("toDateTime(day, 'UTC')");
  }
  const col = raw(source === 'usage_per_hour_v1' ? 'hour' : 'event_time');
  switch (window) {
    case 'minute':
      return sql`toStartOfMinute(${col})`;
    case 'hour':
      return sql`toStartOfHour(${col}, ${tz})`;
    case 'day':
      return sql`toStartOfDay(${col}, ${tz})`;
    case 'month':
      return sql`toDateTime(toStartOfMonth(${col}, ${tz}), ${tz})`;
  }
}

const GROUP_COLUMN: Record<'customer' | 'feature' | 'creditSystem', string> = {
  customer: 'customer_id',
  feature: 'feature',
  creditSystem: 'credit_system',
};

/** A property's value as text: string values unquoted, numbers and booleans as written. */
const propertyExpr = (name: string) =>
  sql`if(visitParamExtractString(properties, ${name}) != '', visitParamExtractString(properties, ${name}), visitParamExtractRaw(properties, ${name}))`;

function measure(agg: UsageAggregation, rollup: boolean): Sql {
  switch (agg) {
    case 'sum_value':
      return raw('sum(value_micro)');
    case 'sum_credits':
      return raw('sum(credits_micro)');
    case 'count':
      return raw(rollup ? 'sum(events)' : 'count()');
    case 'distinct_customers':
      return raw('uniqExact(customer_id)');
    case 'max_value':
      return raw('max(value_micro)');
  }
}

/**
 * Renders the question as one SELECT. Every value goes through the `sql` tag
 * (packages/clickhouse/src/sql.ts); column aliases are fixed names (g0, g1…),
 * never user text. The tenant filter is always the first condition.
 */
export function buildUsageSql(q: UsageQuery, database: string): { source: UsageSource; query: Sql } {
  const source = chooseSource(q);
  const rollup = source !== 'raw_usage_events_v1';
  const table = rollup ? sql`${ident(database)}.${ident(source)}` : dedupedRawEvents(database, q);
  const where: Sql[] = [sql`tenant_id = ${q.tenantId}`];
  if (source === 'usage_per_day_v1') {
    where.push(sql`day >= toDate(${q.from}) AND day < toDate(${q.to})`);
  } else if (source === 'usage_per_hour_v1') {
    where.push(sql`hour >= ${q.from} AND hour < ${q.to}`);
  } else {
    where.push(sql`event_time >= ${q.from} AND event_time < ${q.to}`);
    // Each event once, in its latest version (raw-events.ts): a reverted event's latest row is its revert.
    where.push(raw('reverted = 0'));
  }
  if (q.customers.length) where.push(sql`customer_id IN (${join(q.customers.map((c) => sql`${c}`))})`);
  if (q.features.length) where.push(sql`feature IN (${join(q.features.map((f) => sql`${f}`))})`);
  if (q.creditSystems.length) where.push(sql`credit_system IN (${join(q.creditSystems.map((s) => sql`${s}`))})`);
  for (const [name, value] of q.properties) where.push(sql`${propertyExpr(name)} = ${value}`);

  const keys: Sql[] = [];
  const keyNames: string[] = [];
  if (q.window) {
    keys.push(sql`toUnixTimestamp(${bucketExpr(source, q.window, q.timezone)}) AS bucket`);
    keyNames.push('bucket');
  }
  q.groupBy.forEach((g, i) => {
    const alias = `g${i}`;
    const expr = g.startsWith('property:') ? propertyExpr(g.slice('property:'.length)) : raw(GROUP_COLUMN[g as keyof typeof GROUP_COLUMN]);
    keys.push(sql`${expr} AS ${ident(alias)}`);
    keyNames.push(alias);
  });
  if (rollup && q.aggregations.includes('distinct_customers')) return { source, query: distinctFromRollup(q, table, where, keys, keyNames) };
  const measures = q.aggregations.map((a) => sql`${measure(a, rollup)} AS ${ident(a)}`);
  // Rollup rows of fully reverted events net to zero but may linger until a merge: hide them.
  // Without GROUP BY an aggregate over nothing is still one row of zeros: hide that too.
  const having = sql`${raw(rollup ? 'HAVING sum(events) != 0' : 'HAVING count() > 0')}${afterKey(q, keyNames)}`;
  const groupBy = groupByKeys(keyNames);
  const order = orderByKeys(q, keyNames);
  const select = join([...keys, ...measures]);
  const query = sql`SELECT ${select} FROM ${table} WHERE ${join(where, ' AND ')} ${groupBy} ${having} ${order} LIMIT ${q.limit}`;
  return { source, query };
}

const groupByKeys = (keyNames: string[]): Sql => (keyNames.length ? raw(`GROUP BY ${keyNames.join(', ')}`) : raw(''));

/** By the requested measure (largest first) and then the keys, or by the keys alone. */
function orderByKeys(q: UsageQuery, keyNames: string[]): Sql {
  if (q.orderBy) return sql`ORDER BY ${ident(q.orderBy)} DESC${keyNames.length ? raw(`, ${keyNames.join(', ')}`) : raw('')}`;
  return keyNames.length ? raw(`ORDER BY ${keyNames.join(', ')}`) : raw('');
}

const OUTER_MEASURE: Record<UsageAggregation, string> = {
  sum_value: 'sum(m_value)',
  sum_credits: 'sum(m_credits)',
  count: 'sum(m_events)',
  distinct_customers: 'uniqExact(cust)',
  max_value: 'max(m_value)', // never reached: max needs raw events
};

/**
 * Distinct customers from a rollup: first per customer (dropping customers
 * whose events were all reverted: their rollup rows net to zero), then over
 * the requested keys. Exact, and it reads the rollup, not the raw events.
 */
function distinctFromRollup(q: UsageQuery, table: Sql, where: Sql[], keys: Sql[], keyNames: string[]): Sql {
  const innerGroup = raw(`GROUP BY ${[...keyNames, 'cust'].join(', ')}`);
  const inner = sql`SELECT ${join([...keys, raw('customer_id AS cust'), raw('sum(value_micro) AS m_value'), raw('sum(credits_micro) AS m_credits'), raw('sum(events) AS m_events')])}
    FROM ${table} WHERE ${join(where, ' AND ')} ${innerGroup} HAVING m_events != 0`;
  const outerKeys = keyNames.map((k) => raw(k));
  const measures = q.aggregations.map((a) => sql`${raw(OUTER_MEASURE[a])} AS ${ident(a)}`);
  const groupBy = groupByKeys(keyNames);
  const order = orderByKeys(q, keyNames);
  return sql`SELECT ${join([...outerKeys, ...measures])} FROM (${inner}) ${groupBy} HAVING sum(m_events) != 0${afterKey(q, keyNames)} ${order} LIMIT ${q.limit}`;
}
