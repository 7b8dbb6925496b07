/**
 * Operator reads of customers: the paginated list with search, one customer's
 * balances (plan / purchased) after usage and a real sandbox purchase, and
 * tenant isolation for each new route.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, eventually, newTenant } from './support/stack.ts';
import { billingTenant, buyNow, db, newCustomer, saveCard, type Api } from './billing.support.ts';

afterAll(async () => {
  await db.end();
});

async function walk(api: Api, query: string, limit: number) {
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res = await api.get(`/v1/customers?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data.length).toBeLessThanOrEqual(limit);
    seen.push(...res.body.data.map((c: { id: string }) => c.id));
    expect(res.body.hasMore).toBe(res.body.nextCursor !== null);
    cursor = res.body.nextCursor;
    pages++;
  } while (cursor && pages < 50);
  return { seen, pages };
}

describe('GET /v1/customers', () => {
  let api: Api;
  const ids = Array.from({ length: 23 }, (_, i) => `cus-${String(i).padStart(2, '0')}-${randomUUID().slice(0, 6)}`);

  beforeAll(async () => {
    api = client((await newTenant('op-customers')).apiKey.secret);
    // Created concurrently in batches: several rows share a created_at millisecond, which the keyset must still order.
    for (let i = 0; i < ids.length; i += 6) {
      await Promise.all(ids.slice(i, i + 6).map((id, j) => api.post('/v1/customers', { id, email: `${id}@example.test`, name: j === 0 ? `Promo 100%_off ${i}` : `Person ${i + j}` })));
    }
    expect((await api.post('/v1/customers', { id: 'plain-1000-off', email: 'plain@example.test', name: 'Promo 1000 off' })).status).toBe(200);
  });

  it('walks every page once: no duplicates, nothing missing', async () => {
    const { seen, pages } = await walk(api, '', 5);
    expect(pages).toBe(5); // 24 customers, 5 a page
    expect(new Set(seen).size).toBe(seen.length);
    expect(new Set(seen)).toEqual(new Set([...ids, 'plain-1000-off']));
  });

  it('default limit is 20', async () => {
    const res = await api.get('/v1/customers');
    expect(res.body.data).toHaveLength(20);
    expect(res.body.hasMore).toBe(true);
  });

  it('search matches id, email or name case-insensitively; % and _ match only themselves', async () => {
    const promo = (await walk(api, `&search=${encodeURIComponent('0%_OFF')}`, 2)).seen;
    expect(new Set(promo)).toEqual(new Set([0, 6, 12, 18].map((i) => ids[i]!)));
    expect((await walk(api, `&search=${encodeURIComponent(ids[7]!.toUpperCase())}`, 20)).seen).toEqual([ids[7]]);
    expect((await walk(api, '&search=plain%40example', 20)).seen).toEqual(['plain-1000-off']);
    expect((await walk(api, '&search=nobody-has-this', 20)).seen).toEqual([]);
  });

  it.each([['not-base64!'], [Buffer.from('{"x":1}').toString('base64url')], [Buffer.from('["yesterday","x"]').toString('base64url')],
    // a day that does not exist (Postgres would refuse it: a 500 before) and year 0
    [Buffer.from('["2026-02-30T00:00:00.000000Z","x"]').toString('base64url')], [Buffer.from('["0000-01-01T00:00:00.000000Z","x"]').toString('base64url')]])(
    'a bad cursor %j is a 400 naming cursor',
    async (cursor) => {
      const res = await api.get(`/v1/customers?cursor=${encodeURIComponent(cursor)}`);
      expect(res.status).toBe(400);
      expect(res.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['cursor']);
    },
  );

  it('limit outside 1..100 and unknown parameters are 400s naming them', async () => {
    for (const [q, path] of [['limit=0', 'limit'], ['limit=101', 'limit'], ['serch=x', 'serch']] as const) {
      const res = await api.get(`/v1/customers?${q}`);
      expect(res.status, q).toBe(400);
      expect(JSON.stringify(res.body.error)).toContain(path);
    }
  });

  it('another tenant sees none of these customers, with or without this tenant’s cursor', async () => {
    const other = client((await newTenant('op-customers-other')).apiKey.secret);
    const first = await api.get('/v1/customers?limit=3');
    expect((await other.get('/v1/customers')).body).toEqual({ success: true, data: [], hasMore: false, nextCursor: null });
    expect((await other.get(`/v1/customers?cursor=${first.body.nextCursor}`)).body.data).toEqual([]);
    expect((await other.get(`/v1/customers?search=${ids[0]}`)).body.data).toEqual([]);
    expect((await other.get(`/v1/customers/${ids[0]}/balances`)).status).toBe(404);
  });
});

describe('GET /v1/customers/:id/balances', () => {
  it('after usage and a purchase, the split matches a model: plan spent first, then purchased credits', async () => {
    const { api } = await billingTenant();
    const customer = await newCustomer(api); // Starter: 100 plan credits a month; gpt-4 costs 20 credits
    const model = { plan: 100, purchased: 0 };
    const spend = (credits: number) => {
      const fromPlan = Math.min(model.plan, credits);
      model.plan -= fromPlan;
      model.purchased -= credits - fromPlan;
    };
    const use = async (value: number) => {
      const res = await api.post('/v1/check', { customer, feature: 'gpt-4', value, sendEvent: true, id: `ev-${randomUUID()}` });
      expect(res.body.allowed, JSON.stringify(res.body)).toBe(true);
      spend(value * 20);
    };
    await use(3);
    await saveCard(api, customer);
    const bought = await buyNow(api, { customer, pack: '500-ai-credits' });
    expect(bought.body.status).toBe('completed');
    model.purchased += 500;
    await use(3);
    expect(model).toEqual({ plan: 0, purchased: 480 });

    let last: unknown;
    const res = await eventually(async () => {
      const r = await api.get(`/v1/customers/${customer}/balances?events=5`);
      last = r.body;
      return r.body.recentEvents?.length === 2 ? r : null;
    }, 30_000).catch((err) => {
      throw new Error(`${(err as Error).message}; last answer ${JSON.stringify(last)}`);
    });
    expect(res.status).toBe(200);
    expect(res.body.customer.id).toBe(customer);
    expect(res.body.balances).toEqual([
      { creditSystem: 'ai-credits', plan: model.plan, purchased: model.purchased, total: model.plan + model.purchased, unlimited: false, used: 100 - model.plan, overage: 0 },
    ]);
    expect(res.body.grants).toEqual([
      expect.objectContaining({ creditSystem: 'ai-credits', source: 'purchase', purchaseId: bought.body.reference, credits: 500, revoked: 0, remaining: model.purchased }),
    ]);
    expect(res.body.purchases).toEqual([expect.objectContaining({ id: bought.body.reference, pack: '500-ai-credits', credits: 500, amount: 1000, currency: 'USD', status: 'completed' })]);
    expect(res.body.subscriptions).toEqual([expect.objectContaining({ plan: 'starter', status: 'active', canceledAt: null })]);
    // The second use took 40 from the plan and 20 from the pack (event_time has whole seconds: both may share one, so unordered).
    expect(res.body.recentEvents.map((e: { credits: number; creditsPlan: number; creditsPurchased: number }) => [e.credits, e.creditsPlan, e.creditsPurchased])).toEqual(expect.arrayContaining([
      [60, 40, 20],
      [60, 60, 0],
    ]));
    expect((await api.get(`/v1/customers/${customer}/balances?events=1`)).body.recentEvents).toHaveLength(1);

    // Another tenant: not found, and the same id names nothing of theirs.
    const other = client((await newTenant('op-balances-other')).apiKey.secret);
    const foreign = await other.get(`/v1/customers/${customer}/balances`);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('customer_not_found');
    expect(JSON.stringify(foreign.body)).not.toContain('500-ai-credits');
  });

  it('an unknown customer is 404; events outside 0..100 is a 400 naming events', async () => {
    const api = client((await newTenant('op-balances')).apiKey.secret);
    expect((await api.get('/v1/customers/nobody/balances')).status).toBe(404);
    const bad = await api.get('/v1/customers/nobody/balances?events=101');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.error)).toContain('events');
  });
});

describe('GET /v1/usage pages', () => {
  it('walks every group once with hasMore/nextCursor; a bad cursor or one with orderBy is a 400 naming cursor', async () => {
    const { api } = await billingTenant();
    const customers = Array.from({ length: 5 }, (_, i) => `u${i}-${randomUUID().slice(0, 6)}`);
    for (const c of customers) await newCustomer(api, c);
    const from = new Date(Date.now() - 3600_000).toISOString();
    for (const [i, c] of customers.entries()) {
      for (const feature of ['gpt-4', 'ai-tokens']) {
        const res = await api.post('/v1/track', { customer: c, feature, value: i + 1, id: `u-${randomUUID()}` });
        expect(res.status).toBe(200);
      }
    }
    const to = new Date(Date.now() + 60_000).toISOString();
    const base = `/v1/usage?groupBy=customer,feature&from=${from}&to=${to}`;
    await eventually(async () => (await api.get(`${base}&limit=100`)).body.data?.length === 10, 30_000);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await api.get(`${base}&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      seen.push(...res.body.data.map((r: { customer: string; feature: string; count: number; sumValue: number }) => {
        expect(r.count).toBe(1);
        expect(r.sumValue).toBe(customers.indexOf(r.customer) + 1);
        return `${r.customer}/${r.feature}`;
      }));
      expect(res.body.hasMore).toBe(res.body.nextCursor !== null);
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(4);
    expect(seen.length).toBe(10);
    expect(new Set(seen)).toEqual(new Set(customers.flatMap((c) => [`${c}/gpt-4`, `${c}/ai-tokens`])));

    const first = await api.get(`${base}&limit=3`);
    for (const q of [`${base}&cursor=%%%`, `${base}&cursor=${first.body.nextCursor}&orderBy=count`, `/v1/usage?groupBy=customer&from=${from}&to=${to}&cursor=${first.body.nextCursor}`]) {
      const res = await api.get(q);
      expect(res.status, q).toBe(400);
      expect(res.body.error.issues?.map((i: { path: string }) => i.path), q).toEqual(['cursor']);
    }
    // A cursor of this walk with another window is refused rather than answered for a window the walk did not start.
    const shifted = await api.get(`/v1/usage?groupBy=customer,feature&from=${from}&to=${new Date(Date.parse(to) + 1000).toISOString()}&cursor=${first.body.nextCursor}`);
    expect(shifted.status).toBe(400);
    expect(shifted.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['cursor']);
    // Another tenant with this cursor: its own (empty) usage.
    const other = client((await newTenant('op-usage-other')).apiKey.secret);
    expect((await other.get(`${base}&cursor=${first.body.nextCursor}`)).body).toMatchObject({ data: [], hasMore: false, nextCursor: null });
  });

  it('keeps the default window of the first page for the whole walk: usage tracked after it is not answered by later pages', async () => {
    const { api } = await billingTenant();
    const customers = ['p0', 'p1', 'p2'].map((p) => `${p}-${randomUUID().slice(0, 6)}`).sort();
    for (const c of customers.slice(0, 2)) {
      await newCustomer(api, c);
      expect((await api.post('/v1/track', { customer: c, feature: 'gpt-4', id: `w-${randomUUID()}` })).status).toBe(200);
    }
    const base = '/v1/usage?groupBy=customer';
    await eventually(async () => (await api.get(base)).body.data?.length === 2, 30_000);
    const first = await api.get(`${base}&limit=1`);
    expect(first.body.data.map((r: { customer: string }) => r.customer)).toEqual([customers[0]]);
    // a third customer (sorting last) is tracked once the walk has begun: it is after the first page's window ends
    await new Promise((r) => setTimeout(r, 50));
    await newCustomer(api, customers[2]!);
    expect((await api.post('/v1/track', { customer: customers[2], feature: 'gpt-4', id: `w-${randomUUID()}` })).status).toBe(200);
    await eventually(async () => (await api.get(base)).body.data?.length === 3, 30_000);
    const rest = await api.get(`${base}&limit=10&cursor=${first.body.nextCursor}`);
    expect(rest.status, JSON.stringify(rest.body)).toBe(200);
    expect(rest.body.data.map((r: { customer: string }) => r.customer)).toEqual([customers[1]]);
    expect(rest.body).toMatchObject({ from: first.body.from, to: first.body.to, hasMore: false });
  });
});
