import { beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, ident, queryRows, sql } from '@tally/clickhouse';
import { config, eventually } from './support/stack.ts';
import { analyticsTenant, DAY_MS, ndjson, todayStart, upload, waitFor } from './analytics-helpers.ts';

/**
 * However imports and live events race, an event counts once in the raw table
 * and once in every rollup, and /v1/usage gives the same totals whichever
 * table answers. One tenant for the whole file; each round of each case uses
 * its own past day, so no case sees another's events in any rollup.
 */
const HOUR_MS = 3_600_000;
const CREDIT_COST: Record<string, number> = { gpt4: 20, dalle: 50 };
const iso = (ms: number) => new Date(ms).toISOString();
const clickhouse = createClickHouse({ url: config.CLICKHOUSE_URL, database: config.CLICKHOUSE_DATABASE, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });

interface Line {
  id?: string;
  customer: string;
  feature: string;
  value: number;
  timestamp: string;
}

interface Totals {
  count: number;
  sumValue: number;
  sumCredits: number;
}

/** 20 lines inside [hourStart + 1 min, hourStart + 59 min): two customers, two features, fractional values. */
function fileLines(hourStart: number, withIds: boolean, tag: string): Line[] {
  return Array.from({ length: 20 }, (_, i) => ({
    ...(withIds ? { id: `${tag}-${i}` } : {}),
    customer: i % 3 === 0 ? 'c2' : 'c1',
    feature: i % 4 === 0 ? 'dalle' : 'gpt4',
    value: 0.25 * (i + 1),
    timestamp: iso(hourStart + 60_000 + i * 150_000),
  }));
}

/** What the file itself says the totals are (the reference the answers are checked against). */
function expectedTotals(lines: Line[]): Totals {
  return {
    count: lines.length,
    sumValue: lines.reduce((n, l) => n + l.value, 0),
    sumCredits: lines.reduce((n, l) => n + l.value * CREDIT_COST[l.feature]!, 0),
  };
}

describe('imports and live events racing', () => {
  let t: Awaited<ReturnType<typeof analyticsTenant>>;
  /** 05:00 UTC of the `n`-th day before today: one day per round of each case. */
  const hourOfDay = (n: number) => todayStart() - n * DAY_MS + 5 * HOUR_MS;
  beforeAll(async () => {
    t = await analyticsTenant();
  });

  /** Physical raw rows, distinct event ids, and what each rollup holds, straight from ClickHouse. */
  async function stored(hourStart: number) {
    const from = new Date(hourStart);
    const to = new Date(hourStart + HOUR_MS);
    const [raw] = await queryRows<{ rows: string; ids: string }>(
      clickhouse,
      sql`SELECT toString(count()) AS rows, toString(uniqExact(event_id)) AS ids FROM raw_usage_events_v1
          WHERE tenant_id = ${t.tenant.tenantId} AND event_time >= ${from} AND event_time < ${to}`.text,
    );
    const rollup = async (table: 'usage_per_hour_v1' | 'usage_per_day_v1') => {
      const range = table === 'usage_per_hour_v1' ? sql`hour = ${from}` : sql`day = toDate(${from})`;
      const [r] = await queryRows<{ events: string; value: string; credits: string }>(
        clickhouse,
        sql`SELECT toString(sum(events)) AS events, toString(sum(value_micro)) AS value, toString(sum(credits_micro)) AS credits
            FROM ${ident(table)}
            WHERE tenant_id = ${t.tenant.tenantId} AND ${range}`.text,
      );
      return { count: Number(r!.events), sumValue: Number(r!.value) / 1e6, sumCredits: Number(r!.credits) / 1e6 };
    };
    return { rows: Number(raw!.rows), ids: Number(raw!.ids), hourly: await rollup('usage_per_hour_v1'), daily: await rollup('usage_per_day_v1') };
  }

  /** /v1/usage totals for [from, to) and which table answered. */
  async function usage(from: number, to: number): Promise<Totals & { source: string }> {
    const res = await t.api.get(`/v1/usage?from=${iso(from)}&to=${iso(to)}&aggregations=count,sum_value,sum_credits`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const row = res.body.data[0] ?? { count: 0, sumValue: 0, sumCredits: 0 };
    return { source: res.body.source, count: row.count, sumValue: row.sumValue, sumCredits: row.sumCredits };
  }

  /** Every place an event is counted agrees with the file: raw, both rollups, /v1/usage from a rollup and from raw. */
  async function expectCountedOnce(hourStart: number, lines: Line[]) {
    const want = expectedTotals(lines);
    const s = await stored(hourStart);
    expect({ rows: s.rows, ids: s.ids }, 'raw rows').toEqual({ rows: want.count, ids: want.count });
    expect(s.hourly, 'usage_per_hour_v1').toEqual(want);
    expect(s.daily, 'usage_per_day_v1').toEqual(want);
    expect(await usage(hourStart, hourStart + HOUR_MS)).toEqual({ source: 'usage_per_hour_v1', ...want });
    const day = hourStart - 5 * HOUR_MS;
    expect(await usage(day, day + DAY_MS)).toEqual({ source: 'usage_per_day_v1', ...want });
    expect(await usage(hourStart + 30_000, hourStart + HOUR_MS - 30_000)).toEqual({ source: 'raw_usage_events_v1', ...want });
  }

  /** Two uploads of the same file at once; their chunks interleave on the import workers. */
  async function racingImports(file: string) {
    const [a, b] = await Promise.all([upload(t.secret, file, '?chunkLines=10'), upload(t.secret, file, '?chunkLines=10')]);
    expect(a.status, JSON.stringify(a.body)).toBe(202);
    expect(b.status, JSON.stringify(b.body)).toBe(202);
    return Promise.all([waitFor(t.api, a.body.id, ['completed']), waitFor(t.api, b.body.id, ['completed'])]);
  }

  it.each([
    ['without ids', false, 1],
    ['with ids', true, 4],
  ])('two concurrent report imports of the same 20-row file %s count each event once', async (_label, withIds, firstDay) => {
    // Several rounds: one round may happen not to overlap; the rule must hold for every one.
    for (let round = 0; round < 3; round++) {
      const hourStart = hourOfDay(firstDay + round);
      const lines = fileLines(hourStart, withIds, `imp-${firstDay}-${round}`);
      const [a, b] = await racingImports(ndjson(lines as unknown as Record<string, unknown>[]));
      expect(a.accepted + b.accepted, 'accepted across both imports').toBe(20);
      expect(a.duplicates + b.duplicates, 'duplicates across both imports').toBe(20);
      await expectCountedOnce(hourStart, lines);
    }
  });

  it('a report import racing live /v1/track events with the same ids counts each event once', async () => {
    for (let round = 0; round < 3; round++) {
      const hourStart = hourOfDay(7 + round);
      const lines = fileLines(hourStart, true, `live-${round}`);
      const [imported, tracked] = await Promise.all([
        upload(t.secret, ndjson(lines as unknown as Record<string, unknown>[]), '?chunkLines=10'),
        t.api.post('/v1/track/batch', { events: lines }),
      ]);
      expect(imported.status, JSON.stringify(imported.body)).toBe(202);
      expect(tracked.status, JSON.stringify(tracked.body)).toBe(200);
      const done = await waitFor(t.api, imported.body.id, ['completed']);
      expect(done.accepted + done.duplicates).toBe(20);
      // The live side lands asynchronously (Kafka -> deduct -> ClickHouse): wait until every id is stored,
      // then a little longer, so a late second row of some event would be counted too.
      await eventually(async () => (await stored(hourStart)).ids === 20, 30_000, 200);
      await new Promise((r) => setTimeout(r, 2_000));
      await expectCountedOnce(hourStart, lines);
    }
  });
});
