import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { addCalendarMonths } from '@tally/core';
import { createClickHouse, queryRows, sql } from '@tally/clickhouse';
import { createPool } from '@tally/postgres';
import { createRedis, keys } from '@tally/redis';
import { client, config, eventually, newTenant } from './support/stack.ts';
import { checkBalance, event, flushCustomer, ready, subscribedCustomer, usageTotals } from './metering-helpers.ts';

const pool = createPool(config.DATABASE_URL, 2);
const redis = createRedis(config.REDIS_URL);
redis.on('error', () => {});
const clickhouse = createClickHouse({ url: config.CLICKHOUSE_URL, database: config.CLICKHOUSE_DATABASE, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });
const M = 1_000_000;

/** gpt-4 costs 20 credits; the starter plan gives 100 a month and rolls over what `rollover` says. */
const catalog = (rollover: unknown, limit: number | null = 100, reset = 'monthly') => ({
  features: [{ slug: 'gpt-4', type: 'metered', name: 'GPT-4' }],
  creditSystems: [{ slug: 'ai-credits', name: 'AI Credits', features: [{ feature: 'gpt-4', creditCost: 20 }] }],
  creditPacks: [],
  plans: [
    {
      slug: 'starter', name: 'Starter', price: 0, currency: 'USD', interval: 'monthly',
      features: [{ slug: 'ai-credits', enabled: true, limit, reset, overage: 'block', rollover }, { slug: 'gpt-4', enabled: true }],
    },
  ],
});

async function tenantWith(rollover: unknown) {
  const tenant = await newTenant('rollover');
  const api = client(tenant.apiKey.secret);
  const res = await api.post('/v1/sync', catalog(rollover));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { api, t: tenant.tenantId };
}

/**
 * A period boundary crossed without faking time (as sim/src/faults.ts does): at the
 * next whole second P the customer's anchor moves to one calendar month before P,
 * so a new monthly period starts at P. Returns the start of the period that just
 * closed (P - 1 month): the rollover grant's id carries it.
 */
async function crossPeriod(t: string, c: string): Promise<number> {
  const p = Math.ceil((Date.now() + 1) / 1000) * 1000;
  await new Promise((r) => setTimeout(r, p - Date.now() + 20));
  const anchor = addCalendarMonths(new Date(p), -1);
  const r = await pool.query('UPDATE subscriptions SET anchor_at = $3 WHERE tenant_id = $1 AND customer_id = $2', [t, c, anchor]);
  expect(r.rowCount).toBe(1);
  return anchor.getTime();
}

async function grantsInRedis(t: string, c: string): Promise<Record<string, number>> {
  await ready();
  const h = await redis.hgetall(keys.grants(t, c, 'ai-credits'));
  return Object.fromEntries(Object.entries(h).filter(([k]) => !k.includes('#')).map(([k, v]) => [k, Number(v)]));
}

async function track(api: ReturnType<typeof client>, t: string, c: string, n: number) {
  const before = (await usageTotals(t, c)).events;
  const res = await api.post('/v1/track/batch', { events: Array.from({ length: n }, () => event(c, 'gpt-4')) });
  expect(res.body.accepted).toBe(n);
  await eventually(async () => (await usageTotals(t, c)).events === before + n, 30_000);
}

/** Polls until the API (past its 1 s customer cache) answers the expected balance. */
const balanceBecomes = (api: ReturnType<typeof client>, c: string, expected: number) =>
  eventually(async () => (await checkBalance(api, c)).balance === expected, 15_000, 200);

describe('rollover', () => {
  it('sync validates rollover: a limit, a resetting period, max > 0, periods ≥ 1; the plan shows it', async () => {
    const tenant = await newTenant('rollover');
    const api = client(tenant.apiKey.secret);
    const cases: [unknown, number | null, string, string][] = [
      [{ max: 50, periods: 0 }, 100, 'monthly', 'validation_error'],
      [{ max: 0, periods: 1 }, 100, 'monthly', 'validation_error'],
      [{ max: 50, periods: 1.5 }, 100, 'monthly', 'validation_error'],
      [{ max: 50 }, 100, 'monthly', 'validation_error'],
      [{ max: 50, periods: 1 }, null, 'monthly', 'catalog_reference_error'],
      [{ max: 50, periods: 1 }, 100, 'never', 'catalog_reference_error'],
    ];
    for (const [rollover, limit, reset, code] of cases) {
      const res = await api.post('/v1/sync', catalog(rollover, limit, reset));
      expect(res.status, JSON.stringify({ rollover, limit, reset })).toBe(400);
      expect(res.body.error.code).toBe(code);
    }
    expect((await api.post('/v1/sync', catalog({ max: 50, periods: 2 }))).status).toBe(200);
    const plans = (await api.get('/v1/plans')).body.plans as { features: { slug: string; rollover: unknown }[] }[];
    expect(plans[0]!.features.find((f) => f.slug === 'ai-credits')!.rollover).toEqual({ max: 50, periods: 2 });
  });

  it('carries min(max, unused) into the next period, spends it first, drops it after one period, and a rebuild gives the same numbers', { timeout: 120_000 }, async () => {
    const LIMIT = 100;
    const MAX = 50;
    const { api, t } = await tenantWith({ max: MAX, periods: 1 });
    const c = await subscribedCustomer(api);

    // period 0: 1 call = 20 of the 100
    await track(api, t, c, 1);
    expect((await checkBalance(api, c)).balance).toBe(LIMIT - 20);

    // period 1: the unused 80, capped at 50, carried
    const p0 = await crossPeriod(t, c);
    const carry1 = Math.min(MAX, LIMIT - 20);
    await balanceBecomes(api, c, LIMIT + carry1);
    const ro1 = `ro:ai-credits:${p0}`;
    expect(await grantsInRedis(t, c)).toEqual({ [ro1]: carry1 * M });
    const live1 = await checkBalance(api, c);
    expect(await flushCustomer(t, c)).toBeGreaterThan(0);
    expect(await checkBalance(api, c)).toEqual(live1);
    expect(await grantsInRedis(t, c)).toEqual({ [ro1]: carry1 * M });

    // 2 calls = 40: from the rolled-over credits first, the plan's 100 untouched
    await track(api, t, c, 2);
    expect(await grantsInRedis(t, c)).toEqual({ [ro1]: (carry1 - 40) * M });
    const rows = await queryRows<{ plan: string; ids: string[]; takes: (string | number)[] }>(
      clickhouse,
      sql`SELECT toString(credits_plan_micro) AS plan, grant_ids AS ids, grant_takes AS takes FROM raw_usage_events_v1 FINAL
           WHERE tenant_id = ${t} AND customer_id = ${c}`.text,
    );
    // the two new rows each drew 20 from the carry and nothing from the plan
    const fromCarry = rows.filter((r) => r.ids.includes(ro1));
    expect(fromCarry.map((r) => [r.plan, r.ids, r.takes.map(Number)])).toEqual(Array(2).fill(['0', [ro1], [20 * M]]));
    expect((await checkBalance(api, c)).balance).toBe(LIMIT + carry1 - 40);

    // period 2: the 10 left of the first carry expired (periods = 1); period 1 used none of its plan allowance: 50 carried
    const p1 = await crossPeriod(t, c);
    const carry2 = Math.min(MAX, LIMIT - 0);
    await balanceBecomes(api, c, LIMIT + carry2);
    const ro2 = `ro:ai-credits:${p1}`;
    expect(await grantsInRedis(t, c)).toEqual({ [ro2]: carry2 * M });
    const live2 = await checkBalance(api, c);
    expect(await flushCustomer(t, c)).toBeGreaterThan(0);
    expect(await checkBalance(api, c)).toEqual(live2);
    expect(await grantsInRedis(t, c)).toEqual({ [ro2]: carry2 * M });
  });

  it('with periods = 2 a carry survives one boundary and is gone after the second', { timeout: 120_000 }, async () => {
    const LIMIT = 100;
    const MAX = 30;
    const { api, t } = await tenantWith({ max: MAX, periods: 2 });
    const c = await subscribedCustomer(api);
    expect((await checkBalance(api, c)).balance).toBe(LIMIT);

    // period 1: 30 carried from the unused period 0; 1 call takes 20 of it
    const p0 = await crossPeriod(t, c);
    await balanceBecomes(api, c, LIMIT + MAX);
    await track(api, t, c, 1);
    const ro0 = `ro:ai-credits:${p0}`;
    expect(await grantsInRedis(t, c)).toEqual({ [ro0]: (MAX - 20) * M });

    // period 2: the first carry's 10 still usable, plus 30 from period 1 (its plan allowance unused)
    const p1 = await crossPeriod(t, c);
    await balanceBecomes(api, c, LIMIT + (MAX - 20) + MAX);
    const ro1 = `ro:ai-credits:${p1}`;
    expect(await grantsInRedis(t, c)).toEqual({ [ro0]: (MAX - 20) * M, [ro1]: MAX * M });

    // period 3: the first carry is gone; the second one still counts; period 2 carried 30 too
    const p2 = await crossPeriod(t, c);
    await balanceBecomes(api, c, LIMIT + MAX + MAX);
    expect(await grantsInRedis(t, c)).toEqual({ [ro1]: MAX * M, [`ro:ai-credits:${p2}`]: MAX * M });
  });

  it('a metered feature rolls its unused units over the same way, and a rebuild gives the same numbers', { timeout: 60_000 }, async () => {
    const tenant = await newTenant('rollover');
    const t = tenant.tenantId;
    const api = client(tenant.apiKey.secret);
    const sync = await api.post('/v1/sync', {
      features: [{ slug: 'api', type: 'metered', name: 'API calls' }],
      creditSystems: [],
      creditPacks: [],
      plans: [{ slug: 'starter', name: 'Starter', price: 0, currency: 'USD', interval: 'monthly', features: [{ slug: 'api', enabled: true, limit: 10, reset: 'monthly', overage: 'block', rollover: { max: 5, periods: 1 } }] }],
    });
    expect(sync.status, JSON.stringify(sync.body)).toBe(200);
    const c = await subscribedCustomer(api);
    const res = await api.post('/v1/track', { customer: c, feature: 'api', value: 7, id: `evt_${randomUUID()}` });
    expect(res.status).toBeLessThan(300);
    await eventually(async () => (await usageTotals(t, c)).events === 1, 30_000);
    const p0 = await crossPeriod(t, c);
    // 10 - 7 = 3 unused, under the cap of 5
    const balance = async () => (await api.post('/v1/check', { customer: c, feature: 'api', value: 0 })).body;
    await eventually(async () => (await balance()).balance === 10 + 3, 15_000, 200);
    await ready();
    const units = async () => redis.hgetall(keys.grants(t, c, 'api'));
    expect(await units()).toEqual({ [`ro:api:${p0}`]: String(3 * M) });
    expect((await api.post('/v1/check', { customer: c, feature: 'api', value: 13 })).body.allowed).toBe(true);
    expect((await api.post('/v1/check', { customer: c, feature: 'api', value: 14 })).body.allowed).toBe(false);
    const live = await balance();
    await flushCustomer(t, c);
    expect(await balance()).toEqual(live);
    expect(await units()).toEqual({ [`ro:api:${p0}`]: String(3 * M) });
  });
});
