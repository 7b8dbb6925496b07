import { ident, jsonRow, raw as rawText, sql } from '@tally/clickhouse';

/** What the repair needs from ClickHouse: run a SELECT, run a statement, insert JSONEachRow lines (the HTTP client or chdb alike). */
export interface SqlRunner {
  rows<T>(query: string): Promise<T[]>;
  exec(query: string): Promise<void>;
  insertJsonLines(database: string, table: string, lines: string[]): Promise<void>;
}

const AMOUNTS = ['value_micro', 'credits_micro', 'credits_plan_micro', 'credits_purchased_micro', 'credits_overage_micro'] as const;
type Totals = Record<(typeof AMOUNTS)[number] | 'events', string>;
type KeyRow = Totals & { customer_id: string; feature: string; credit_system: string; bucket: number };

const ROLLUPS = [
  { table: 'usage_per_hour_v1', column: 'hour', bucket: 'toStartOfHour(event_time)' },
  { table: 'usage_per_day_v1', column: 'day', bucket: 'toDate(event_time)' },
] as const;

/**
 * Makes the rollups of one tenant exact again over [from, to) (whole UTC
 * days): recomputes every key from the raw events deduplicated by event id
 * (latest version wins, reverted events count zero), compares with what the
 * rollup holds, and inserts the difference as correction rows (the
 * SummingMergeTree adds them). Use it after a replay wrote a raw row twice
 * (the views counted it twice). Run it over closed periods: rows inserted
 * while it runs may be corrected twice. Returns the number of keys corrected.
 */
export async function repairRollups(db: SqlRunner, database: string, tenantId: string, from: Date, to: Date): Promise<number> {
  const raw = sql`${ident(database)}.${ident('raw_usage_events_v1')}`;
  let corrected = 0;
  for (const r of ROLLUPS) {
    const bucket = r.column === 'hour' ? 'toUnixTimestamp(bucket_raw)' : "toUnixTimestamp(toDateTime(bucket_raw, 'UTC'))";
    // Aliases never reuse a column name (current ClickHouse resolves an alias inside other expressions).
    const truth = await db.rows<KeyRow>(
      sql`SELECT c_l AS customer_id, f_l AS feature, s_l AS credit_system, ${rawText(bucket)} AS bucket,
                 ${rawText(AMOUNTS.map((a) => `toString(sum(${a}_l)) AS ${a}`).join(', '))}, toString(count()) AS events
          FROM (
            SELECT event_id,
                   argMax(customer_id, version) AS c_l, argMax(feature, version) AS f_l,
                   argMax(credit_system, version) AS s_l, ${rawText(r.bucket)} AS bucket_raw,
                   ${rawText(AMOUNTS.map((a) => `argMax(${a}, version) AS ${a}_l`).join(', '))},
                   argMax(reverted, version) AS reverted_l
            FROM ${raw}
            WHERE tenant_id = ${tenantId} AND event_time >= ${from} AND event_time < ${to}
            GROUP BY event_id, bucket_raw
          )
          WHERE reverted_l = 0
          GROUP BY c_l, f_l, s_l, bucket_raw`.text,
    );
    const table = sql`${ident(database)}.${ident(r.table)}`;
    const range = r.column === 'hour' ? sql`hour >= ${from} AND hour < ${to}` : sql`day >= toDate(${from}) AND day < toDate(${to})`;
    const heldRows = await db.rows<Record<string, string | number>>(
      sql`SELECT customer_id AS c, feature AS f, credit_system AS s, toUnixTimestamp(${rawText(r.column === 'hour' ? 'hour' : "toDateTime(day, 'UTC')")}) AS bucket,
                 ${rawText(AMOUNTS.map((a) => `toString(sum(${a})) AS ${a}_t`).join(', '))}, toString(sum(events)) AS events_t
          FROM ${table} WHERE tenant_id = ${tenantId} AND ${range}
          GROUP BY c, f, s, bucket`.text,
    );
    const held: KeyRow[] = heldRows.map((h) => ({
      customer_id: String(h.c),
      feature: String(h.f),
      credit_system: String(h.s),
      bucket: Number(h.bucket),
      ...(Object.fromEntries([...AMOUNTS, 'events'].map((c) => [c, String(h[`${c}_t`])])) as Totals),
    }));
    const key = (k: KeyRow) => JSON.stringify([k.customer_id, k.feature, k.credit_system, Number(k.bucket)]);
    const delta = new Map<string, { k: KeyRow; d: Record<string, bigint> }>();
    const add = (k: KeyRow, sign: bigint) => {
      const entry = delta.get(key(k)) ?? { k, d: Object.fromEntries([...AMOUNTS, 'events'].map((c) => [c, 0n])) };
      for (const c of [...AMOUNTS, 'events'] as const) entry.d[c] = entry.d[c]! + sign * BigInt(k[c]);
      delta.set(key(k), entry);
    };
    for (const k of truth) add(k, 1n);
    for (const k of held) add(k, -1n);
    const rows: string[] = [];
    for (const { k, d } of delta.values()) {
      if (Object.values(d).every((v) => v === 0n)) continue;
      rows.push(
        jsonRow({
          tenant_id: tenantId,
          customer_id: k.customer_id,
          feature: k.feature,
          credit_system: k.credit_system,
          [r.column]: r.column === 'hour' ? Number(k.bucket) : new Date(Number(k.bucket) * 1000).toISOString().slice(0, 10),
          ...d,
        }),
      );
    }
    if (rows.length) await db.insertJsonLines(database, r.table, rows);
    corrected += rows.length;
  }
  return corrected;
}
