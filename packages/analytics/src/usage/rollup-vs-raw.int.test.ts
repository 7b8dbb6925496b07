import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonRow } from '@tally/clickhouse';
import { repairRollups } from '../rollups/repair.ts';
import { bothGenerations, type Engine } from '../testing/clickhouse-engines.ts';
import { buildUsageSql, type UsageQuery, type UsageSource } from './usage-query.ts';

/**
 * /v1/usage gives the same totals whichever table answers: random events
 * (some reverted, some re-inserted as a pipeline replay would), random ranges
 * (whole hours and days, read from a rollup, and ragged ones, read from raw),
 * each answer checked against a reference model computed here from the
 * events themselves, and the same range read from raw (minute windows).
 */
const HOUR = 3600;
const DAY = 24 * HOUR;
const SEED = 20_261_001;

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Ev {
  id: string;
  customer: string;
  feature: string;
  value: bigint;
  credits: bigint;
  time: number;
  reverted: boolean;
  replayed: boolean;
}

const start = Math.floor(Date.now() / 1000 / DAY) * DAY - 10 * DAY; // 10 days ago, 00:00 UTC
const span = 3 * DAY;

function events(rand: () => number): Ev[] {
  return Array.from({ length: 400 }, (_, i) => ({
    id: `e${i}`,
    customer: `c${1 + Math.floor(rand() * 4)}`,
    feature: rand() < 0.5 ? 'gpt4' : 'dalle',
    value: BigInt(1 + Math.floor(rand() * 5_000_000)),
    credits: BigInt(Math.floor(rand() * 90_000_000)),
    time: start + Math.floor(rand() * span),
    reverted: rand() < 0.1,
    replayed: rand() < 0.1,
  }));
}

function row(tenant: string, e: Ev, reverted: boolean): string {
  return jsonRow({
    tenant_id: tenant,
    customer_id: e.customer,
    feature: e.feature,
    event_id: e.id,
    value_micro: e.value,
    credits_micro: e.credits,
    credits_plan_micro: 0n,
    credits_purchased_micro: e.credits,
    credits_overage_micro: 0n,
    credit_system: 'ai-credits',
    plan: '',
    entity: '',
    properties: '{}',
    event_time: e.time,
    ingested_at: e.time,
    source: e.reverted ? 'import' : 'live',
    import_id: e.reverted ? 'imp-1' : '',
    reverted: reverted ? 1 : 0,
    version: reverted ? 2 : 1,
  });
}

type Totals = Record<string, { value: string; credits: string; count: number }>;

/** The reference: each event once, reverted ones not at all, by customer. */
function model(evs: Ev[], from: number, to: number): Totals {
  const out: Totals = {};
  for (const e of evs) {
    if (e.reverted || e.time < from || e.time >= to) continue;
    const t = out[e.customer] ?? { value: '0', credits: '0', count: 0 };
    out[e.customer] = { value: String(BigInt(t.value) + e.value), credits: String(BigInt(t.credits) + e.credits), count: t.count + 1 };
  }
  return out;
}

describe.each(bothGenerations)('rollups and raw events answer alike on %s', (_label, open) => {
  let engine: Engine;
  const tenant = `it-${randomUUID()}`;
  const rand = random(SEED);
  const evs = events(rand);
  const insert = (rows: string[]) => engine.exec(`INSERT INTO ${engine.database}.raw_usage_events_v1 FORMAT JSONEachRow\n${rows.join('\n')}`);

  beforeAll(async () => {
    engine = await open();
    await insert(evs.map((e) => row(tenant, e, false)));
    await insert(evs.filter((e) => e.reverted).map((e) => row(tenant, e, true)));
    // A replay writes the same row again, in another insert (another part, not merged yet).
    await insert(evs.filter((e) => e.replayed).map((e) => row(tenant, e, false)));
  });
  afterAll(async () => engine?.close());

  async function answer(q: UsageQuery): Promise<{ source: UsageSource; totals: Totals }> {
    const { source, query } = buildUsageSql(q, engine.database);
    const totals: Totals = {};
    for (const r of await engine.rows<{ g0: string; sum_value: string; sum_credits: string; count: string }>(query.text)) {
      const t = totals[r.g0] ?? { value: '0', credits: '0', count: 0 };
      totals[r.g0] = { value: String(BigInt(t.value) + BigInt(r.sum_value)), credits: String(BigInt(t.credits) + BigInt(r.sum_credits)), count: t.count + Number(r.count) };
    }
    return { source, totals };
  }

  const question = (from: number, to: number, over: Partial<UsageQuery> = {}): UsageQuery => ({
    tenantId: tenant,
    customers: [],
    features: [],
    creditSystems: [],
    properties: [],
    from: new Date(from * 1000),
    to: new Date(to * 1000),
    groupBy: ['customer'],
    window: null,
    timezone: 'UTC',
    aggregations: ['sum_value', 'sum_credits', 'count'],
    orderBy: null,
    limit: 1000,
    ...over,
  });

  /** Whole days, whole hours and ragged seconds, in roughly equal numbers. */
  function ranges(n: number): [number, number][] {
    return Array.from({ length: n }, (_, i) => {
      const unit = [DAY, HOUR, 1][i % 3]!;
      const a = start - DAY + Math.floor((rand() * (span + 2 * DAY)) / unit) * unit;
      const b = a + unit * (1 + Math.floor((rand() * span) / unit));
      return [a, b];
    });
  }

  it('raw events count each event once before any repair (replays and reverts collapse at read)', async () => {
    for (const [from, to] of ranges(30)) {
      const raw = await answer(question(from, to, { window: 'minute' }));
      expect(raw.source).toBe('raw_usage_events_v1');
      expect(raw.totals, `raw [${from}, ${to})`).toEqual(model(evs, from, to));
    }
  });

  it('after repairing the replays, every range answers the same from a rollup and from raw', async () => {
    await repairRollups(engine, engine.database, tenant, new Date((start - DAY) * 1000), new Date((start + span + 2 * DAY) * 1000));
    const sources = new Set<UsageSource>();
    for (const [from, to] of ranges(60)) {
      const want = model(evs, from, to);
      const chosen = await answer(question(from, to));
      sources.add(chosen.source);
      expect(chosen.totals, `${chosen.source} [${from}, ${to})`).toEqual(want);
      expect((await answer(question(from, to, { window: 'minute' }))).totals, `raw [${from}, ${to})`).toEqual(want);
      expect((await answer(question(from, to, { window: 'hour' }))).totals, `hourly windows [${from}, ${to})`).toEqual(want);
    }
    expect(sources).toEqual(new Set(['usage_per_day_v1', 'usage_per_hour_v1', 'raw_usage_events_v1']));
  });
});
