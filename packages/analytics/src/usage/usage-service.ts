import { fromMicro } from '@tally/core';
import { badRequest } from '@tally/runtime';
import { PROPERTY_FILTER_KEY, toPage, type UsageAggregation, type UsageQueryInput, type UsageResponse, type UsageRow } from '@tally/contracts';
import { canonicalZone, type GroupKey, type UsageQuery } from './usage-query.ts';
import { UnknownTimeZoneError, type UsageEvents, type UsageResultRow } from './usage-events.ts';

const DEFAULT_AGGREGATIONS: UsageAggregation[] = ['sum_value', 'sum_credits', 'count'];
const DEFAULT_RANGE_MS = 30 * 24 * 3600 * 1000;

const unknownZone = (zone: string) =>
  badRequest('validation_error', `timezone: unknown time zone ${JSON.stringify(zone)} (an IANA name such as Europe/Paris)`, {
    issues: [{ path: 'timezone', message: 'unknown time zone' }],
  });

/**
 * Turns the validated HTTP query into a UsageQuery (defaults, property filters, time zone check).
 * A `to` beyond now is answered as asked (imports may hold events up to a day ahead); the schema
 * refuses one past ClickHouse's DateTime range.
 */
export function toUsageQuery(tenantId: string, input: UsageQueryInput, now = new Date()): UsageQuery {
  // a walk keeps the window of its first page: the cursor carries it, so defaults do not move with "now"
  const pinned = input.cursor;
  const to = input.to ? new Date(input.to) : pinned ? new Date(pinned.to) : now;
  const from = input.from ? new Date(input.from) : pinned ? new Date(pinned.from) : new Date(Math.max(0, to.getTime() - DEFAULT_RANGE_MS));
  if (pinned && (from.getTime() !== pinned.from || to.getTime() !== pinned.to)) {
    const why = 'belongs to another from/to window';
    throw badRequest('validation_error', `cursor: ${why}`, { issues: [{ path: 'cursor', message: why }] });
  }
  if (!(from < to)) throw badRequest('validation_error', '`from` must be before `to`');
  const timezone = canonicalZone(input.timezone);
  if (!timezone) throw unknownZone(input.timezone);
  const properties: [string, string][] = [];
  for (const [key, value] of Object.entries(input)) {
    const m = PROPERTY_FILTER_KEY.exec(key);
    if (m && typeof value === 'string') properties.push([m[1]!, value]);
  }
  const groupBy = [...new Set(input.groupBy ?? [])] as GroupKey[];
  const keyCount = groupBy.length + (input.window ? 1 : 0);
  if (input.cursor) {
    // Pages follow the group key; an answer ordered by a measure has no stable key to continue after.
    const why = input.orderBy ? 'cannot be combined with orderBy' : input.cursor.k.length !== keyCount ? 'does not belong to this groupBy/window' : null;
    if (why) throw badRequest('validation_error', `cursor: ${why}`, { issues: [{ path: 'cursor', message: why }] });
  }
  const aggregations = [...new Set([...(input.aggregations?.length ? input.aggregations : DEFAULT_AGGREGATIONS), ...(input.orderBy ? [input.orderBy] : [])])];
  return {
    tenantId,
    customers: input.customers ?? [],
    features: input.features ?? [],
    creditSystems: input.creditSystems ?? [],
    properties,
    from,
    to,
    groupBy,
    window: input.window ?? null,
    timezone,
    aggregations,
    orderBy: input.orderBy ?? null,
    limit: input.limit,
    after: input.cursor?.k ?? null,
  };
}

type ResultRow = UsageResultRow;

const big = (v: string | number | undefined) => BigInt(v ?? 0);

/** Answers /v1/usage from the event store (ClickHouse); every query is scoped to the tenant. */
export class UsageService {
  constructor(private readonly events: UsageEvents) {}

  async query(q: UsageQuery): Promise<UsageResponse> {
    let selected: Awaited<ReturnType<UsageEvents['select']>>;
    try {
      // One row more than asked tells whether there is a next page.
      selected = await this.events.select({ ...q, limit: q.limit + 1 });
    } catch (err) {
      // A zone this process knows but the server's tz database does not (it is older, or newer).
      if (err instanceof UnknownTimeZoneError) throw unknownZone(q.timezone);
      throw err;
    }
    const { source, rows } = selected;
    return {
      success: true,
      from: q.from.toISOString(),
      to: q.to.toISOString(),
      window: q.window,
      timezone: q.timezone,
      source,
      ...toPage(rows, q.limit, (r) => keyOf(q, r), (r) => toRow(q, r)),
    };
  }
}

/** The group key of a result row and the walk's window, as the next page's cursor holds them. */
function keyOf(q: UsageQuery, r: ResultRow): { k: (string | number)[]; from: number; to: number } {
  const k: (string | number)[] = q.window ? [Number(r.bucket)] : [];
  q.groupBy.forEach((_, i) => k.push(String(r[`g${i}`] ?? '')));
  return { k, from: q.from.getTime(), to: q.to.getTime() };
}

function toRow(q: UsageQuery, r: ResultRow): UsageRow {
  const row: UsageRow = {};
  if (q.window) row.bucket = new Date(Number(r.bucket) * 1000).toISOString();
  q.groupBy.forEach((g, i) => {
    const value = String(r[`g${i}`] ?? '');
    if (g === 'customer') row.customer = value;
    else if (g === 'feature') row.feature = value;
    else if (g === 'creditSystem') row.creditSystem = value;
    else (row.properties ??= {})[g.slice('property:'.length)] = value;
  });
  for (const agg of q.aggregations) {
    const v = r[agg];
    if (agg === 'sum_value') row.sumValue = fromMicro(big(v));
    else if (agg === 'sum_credits') row.sumCredits = fromMicro(big(v));
    else if (agg === 'max_value') row.maxValue = fromMicro(big(v));
    else if (agg === 'count') row.count = Number(v);
    else row.distinctCustomers = Number(v);
  }
  return row;
}
