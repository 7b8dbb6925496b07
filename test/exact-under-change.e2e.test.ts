import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, queryRows, sql } from '@tally/clickhouse';
import { flushStore } from '@tally/redis';
import { client, config, eventually, newTenant } from './support/stack.ts';
import { privateStack, type PrivateStack } from './support/private-stack.ts';

/**
 * "Exact under change": ONE long-lived tenant for the whole file, whose
 * catalog, customers and processes change while traffic flows - the way real
 * tenants run. Two API processes and two workers processes (one consumer
 * group) on a Redis of their own (this file FLUSHALLs it). A change is made on
 * one API and usage sent at once, with no wait, on the other.
 * Expectations are computed here from what was sent (credits = value x cost).
 */
const clickhouse = createClickHouse({ url: config.CLICKHOUSE_URL, database: config.CLICKHOUSE_DATABASE, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });

let stack: PrivateStack;
let tenantId: string;
let secret: string;
const a = () => client(secret, stack.apis[0]!.url);
const b = () => client(secret, stack.apis[1]!.url);

interface Features {
  gpt4Cost?: number;
  exportsType?: 'metered' | 'boolean';
  extra?: string[];
}

/** The tenant's whole catalog (sync is declarative): plans free (100 credits), pro (1,000) and bulk (1,000,000), charged overage. */
const catalog = (f: Features = {}) => ({
  features: [
    { slug: 'gpt-4', type: 'metered' },
    { slug: 'dall-e', type: 'metered' },
    { slug: 'exports', type: f.exportsType ?? 'metered' },
    ...(f.extra ?? []).map((slug) => ({ slug, type: 'metered' })),
  ],
  creditSystems: [
    {
      slug: 'ai-credits',
      name: 'AI Credits',
      features: [
        { feature: 'gpt-4', creditCost: f.gpt4Cost ?? 20 },
        { feature: 'dall-e', creditCost: 50 },
        ...(f.extra ?? []).map((feature) => ({ feature, creditCost: 7 })),
      ],
    },
  ],
  creditPacks: [],
  plans: ['free', 'pro', 'bulk'].map((slug) => ({
    slug,
    name: slug,
    price: 0,
    currency: 'USD',
    interval: 'monthly',
    features: [
      { slug: 'ai-credits', enabled: true, limit: ({ free: 100, pro: 1000, bulk: 1_000_000 } as Record<string, number>)[slug], reset: 'monthly', overage: 'charge' },
      ...(f.exportsType === 'boolean' ? [{ slug: 'exports', enabled: true }] : [{ slug: 'exports', enabled: true, limit: 1_000_000, reset: 'monthly', overage: 'charge' }]),
    ],
  })),
});

const sync = async (f: Features, api = a()) => {
  const res = await api.post('/v1/sync', catalog(f));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
};

const newCustomer = async (plan?: 'free' | 'pro' | 'bulk') => {
  const id = `cus_${randomUUID().slice(0, 8)}`;
  expect((await a().post('/v1/customers', { id, email: `${id}@example.com` })).status).toBeLessThan(300);
  if (plan) expect((await a().post('/v1/attach', { customer: id, product: plan })).status).toBe(200);
  return id;
};

const evt = (customer: string, feature: string, value = 1) => ({ id: `evt_${randomUUID()}`, customer, feature, value });

const trackBatch = async (api: ReturnType<typeof client>, events: unknown[]) => {
  const res = await api.post('/v1/track/batch', { events });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { accepted: number; results: { status: string }[] };
};

/** Stored rows of one customer, one per event id (FINAL collapses replays). */
const rows = (customer: string) =>
  queryRows<{ event_id: string; feature: string; credits: string; plan: string; overage: string; unmetered: number }>(
    clickhouse,
    sql`SELECT event_id, feature, toString(credits_micro) AS credits, toString(credits_plan_micro) AS plan,
               toString(credits_overage_micro) AS overage, unmetered
          FROM raw_usage_events_v1 FINAL WHERE tenant_id = ${tenantId} AND customer_id = ${customer}`.text,
  );
const stored = async (customer: string, n: number) => eventually(async () => ((await rows(customer)).length >= n ? rows(customer) : undefined), 30_000);
const credits = (micro: string) => Number(micro) / 1e6;

const balance = async (customer: string, feature = 'gpt-4', api = a()) => {
  const res = await api.post('/v1/check', { customer, feature, value: 0 });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { usage: number; balance: number };
};

beforeAll(async () => {
  stack = await privateStack({ apis: 2, workers: 2 });
  const tenant = await newTenant('exact-under-change');
  tenantId = tenant.tenantId;
  secret = tenant.apiKey.secret;
  await sync({});
  // a tenant in use: every process has the catalog and customers cached before the changes below
  const warm = await newCustomer('free');
  for (const api of [a(), b()]) await trackBatch(api, [evt(warm, 'gpt-4'), evt(warm, 'dall-e')]);
  await stored(warm, 4);
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  await clickhouse.close();
});

describe('exact under change (one long-lived tenant, 2 APIs, 2 workers)', () => {
  it('1. a feature added by sync and tracked at once on the other API is applied and stored', async () => {
    const customer = await newCustomer('pro');
    await trackBatch(b(), [evt(customer, 'gpt-4')]);
    await stored(customer, 1);
    for (let round = 0; round < 3; round++) {
      const slug = `feat-${round}-${randomUUID().slice(0, 6)}`;
      await sync({ extra: [slug] });
      const res = await trackBatch(b(), [evt(customer, slug, 2)]); // no wait after the sync
      expect(res.accepted).toBe(1);
      const got = await stored(customer, 2 + round);
      const row = got.find((r) => r.feature === slug);
      expect(row, `the event of ${slug} was stored`).toBeDefined();
      expect(credits(row!.credits)).toBe(14); // 2 x 7
    }
    const b1 = await balance(customer);
    expect(b1.usage).toBe(20 + 3 * 14);
  });

  it('2. attach, then track at once on the other API: charged to the new plan; check and usage agree', async () => {
    const customer = await newCustomer();
    await trackBatch(b(), [evt(customer, 'dall-e')]); // warm: no plan yet, 50 credits of overage
    await stored(customer, 1);
    expect((await a().post('/v1/attach', { customer, product: 'pro' })).status).toBe(200);
    await trackBatch(b(), Array.from({ length: 10 }, () => evt(customer, 'gpt-4')));
    const got = await stored(customer, 11);
    const gpt = got.filter((r) => r.feature === 'gpt-4');
    expect(gpt.map((r) => credits(r.plan))).toEqual(Array(10).fill(20));
    // check (this period's plan usage) and the stored rows agree
    expect(gpt.reduce((s, r) => s + credits(r.credits), 0)).toBe(200);
    expect(await balance(customer, 'gpt-4', b())).toMatchObject({ usage: 200, balance: 800 });
  });

  it('3a. a credit cost changed while events flow: before the sync 20, after its answer 30', async () => {
    await sync({ gpt4Cost: 20 });
    const customer = await newCustomer('pro');
    const before: string[] = [];
    const after: string[] = [];
    let phase: 'before' | 'during' | 'after' = 'before';
    let stop = false;
    const flow = (async () => {
      let turn = 0;
      while (!stop) {
        const e = evt(customer, 'gpt-4');
        const sentIn = phase;
        await trackBatch(turn++ % 2 ? a() : b(), [e]);
        if (sentIn === 'before' && phase === 'before') before.push(e.id);
        if (sentIn === 'after') after.push(e.id);
      }
    })();
    await eventually(async () => before.length >= 10);
    phase = 'during';
    await sync({ gpt4Cost: 30 }, a());
    phase = 'after';
    await eventually(async () => after.length >= 20);
    stop = true;
    await flow;
    const got = new Map((await eventually(async () => {
      const r = await rows(customer);
      return after.every((id) => r.some((x) => x.event_id === id)) ? r : undefined;
    }, 30_000)).map((r) => [r.event_id, credits(r.credits)]));
    expect(before.map((id) => got.get(id))).toEqual(Array(before.length).fill(20));
    expect(after.map((id) => got.get(id))).toEqual(Array(after.length).fill(30));
    await sync({ gpt4Cost: 20 });
  });

  it('3b. a feature turned from metered to boolean while its events wait: every event already answered 200 is stored', async () => {
    const customer = await newCustomer('pro');
    // the events wait in Kafka while no workers run, so the workers that apply them only ever see the new catalog
    for (const w of stack.workers) await w.stop('SIGKILL');
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const e = evt(customer, 'exports', 3);
      const res = await trackBatch(i % 2 ? a() : b(), [e]);
      if (res.results[0]!.status === 'accepted') ids.push(e.id);
    }
    expect(ids).toHaveLength(20);
    await sync({ exportsType: 'boolean' });
    await stack.restart('workers', 0);
    await stack.restart('workers', 1);
    const got = await stored(customer, 20);
    expect(got.map((r) => r.event_id).sort()).toEqual([...ids].sort());
    expect(got.every((r) => credits(r.credits) === 3)).toBe(true); // charged as accepted: 3 units of a standalone feature
    await sync({});
  });

  it('4. plan hopping never refills the allowance: free used up -> pro -> free keeps used', async () => {
    const customer = await newCustomer('free');
    await trackBatch(b(), Array.from({ length: 5 }, () => evt(customer, 'gpt-4'))); // 100 = the free allowance
    await stored(customer, 5);
    expect(await balance(customer)).toMatchObject({ usage: 100, balance: 0 });
    expect((await a().post('/v1/attach', { customer, product: 'pro' })).status).toBe(200);
    expect(await balance(customer, 'gpt-4', b())).toMatchObject({ usage: 100, balance: 900 });
    expect((await b().post('/v1/attach', { customer, product: 'free' })).status).toBe(200);
    expect(await balance(customer, 'gpt-4', a())).toMatchObject({ usage: 100, balance: 0 });
    await trackBatch(a(), Array.from({ length: 5 }, () => evt(customer, 'gpt-4')));
    const got = await stored(customer, 10);
    const plan = got.reduce((s, r) => s + credits(r.plan), 0);
    const overage = got.reduce((s, r) => s + credits(r.overage), 0);
    expect({ plan, overage }).toEqual({ plan: 100, overage: 100 });
  });

  it('the same id twice in one batch: duplicate for the same payload, conflict for another', async () => {
    const customer = await newCustomer('pro');
    const e = { ...evt(customer, 'gpt-4'), timestamp: new Date(Date.now() - 60_000).toISOString() };
    const res = await trackBatch(a(), [e, { ...e }, { ...e, value: 2 }]);
    expect(res.results.map((r) => r.status)).toEqual(['accepted', 'duplicate', 'conflict']);
    await stored(customer, 1);
    const again = await trackBatch(b(), [{ ...e }, { ...e, value: 5 }]);
    expect(again.results.map((r) => r.status)).toEqual(['duplicate', 'conflict']);
    expect((await balance(customer)).usage).toBe(20);
  });

  it('7. FLUSHALL and kill -9 of a workers process during 30,000 events: balances and usage exact', async () => {
    const customers = [await newCustomer('bulk'), await newCustomer('bulk'), await newCustomer('free')];
    const sent = new Map<string, number>(customers.map((c) => [c, 0]));
    // three senders at once, so the pipeline lags and jobs are in flight when Redis goes
    let batches = 0;
    const faults: Promise<unknown>[] = [];
    await Promise.all(
      [a, b, a].map(async (api, lane) => {
        for (let k = 0; k < 10; k++) {
          const events = Array.from({ length: 1000 }, (_, i) => evt(customers[(k + i + lane) % 3]!, 'gpt-4'));
          const res = await trackBatch(api(), events);
          expect(res.accepted).toBe(1000);
          for (const e of events) sent.set(e.customer, sent.get(e.customer)! + 1);
          batches++;
          if (batches === 8 || batches === 22) faults.push(flushStore(stack.redis));
          if (batches === 15) faults.push(stack.restart('workers', 0));
        }
      }),
    );
    await Promise.all(faults);
    const limits = new Map([[customers[0]!, 1_000_000], [customers[1]!, 1_000_000], [customers[2]!, 100]]);
    for (const c of customers) {
      const n = sent.get(c)!;
      // on a failure, say how many accepted events were never stored
      await eventually(async () => (await rows(c)).length === n, 120_000, 500).catch(async () => expect((await rows(c)).length, `stored events of ${c}`).toBe(n));
      const got = await rows(c);
      expect(new Set(got.map((r) => r.event_id)).size).toBe(n);
      const total = got.reduce((s, r) => s + credits(r.credits), 0);
      expect(total).toBe(n * 20);
      const limit = limits.get(c)!;
      expect(got.reduce((s, r) => s + credits(r.plan), 0)).toBe(Math.min(limit, n * 20));
      const now = await eventually(async () => {
        const x = await balance(c);
        return x.usage === Math.min(limit, n * 20) ? x : undefined;
      }, 60_000);
      expect(now.balance).toBe(Math.max(0, limit - n * 20));
      const from = new Date(Date.now() - 3_600_000).toISOString();
      const to = new Date(Date.now() + 3_600_000).toISOString();
      const usage = await a().get(`/v1/usage?customers=${c}&from=${from}&to=${to}&aggregations=count,sum_credits`);
      expect(usage.status, JSON.stringify(usage.body)).toBe(200);
      expect(usage.body.data[0]).toMatchObject({ count: n, sumCredits: n * 20 });
    }
  }, 400_000);
});
