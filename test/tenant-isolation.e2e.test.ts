/**
 * Tenant isolation for the catalog, customers, attach and operator routes: every route
 * is tried with another tenant's key and that tenant's ids and slugs; the
 * other tenant's data is never visible and never changes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { client, eventually, newTenant } from './support/stack.ts';

type Api = ReturnType<typeof client>;

const catalogOf = (prefix: string) => ({
  features: [{ slug: `${prefix}-feature`, type: 'metered', name: `${prefix} feature` }, { slug: 'shared-feature', type: 'metered', name: `${prefix} shared` }],
  creditSystems: [{ slug: `${prefix}-credits`, name: `${prefix} credits`, features: [{ feature: 'shared-feature', creditCost: prefix === 'a' ? 10 : 99 }] }],
  creditPacks: [{ slug: `${prefix}-pack`, name: `${prefix} pack`, credits: 100, price: 500, currency: 'USD', creditSystem: `${prefix}-credits` }],
  plans: [
    { slug: `${prefix}-free`, name: `${prefix} free`, price: 0, currency: 'USD', interval: 'monthly', features: [{ slug: `${prefix}-credits`, limit: 10 }] },
    { slug: 'shared-plan', name: `${prefix} shared plan`, price: 0, currency: 'USD', interval: 'monthly', features: [] },
  ],
});

let a: Api;
let b: Api;
let snapshotOfA: () => Promise<unknown>;

beforeAll(async () => {
  a = client((await newTenant('iso-a')).apiKey.secret);
  b = client((await newTenant('iso-b')).apiKey.secret);
  expect((await a.post('/v1/sync', catalogOf('a'))).status).toBe(200);
  expect((await b.post('/v1/sync', catalogOf('b'))).status).toBe(200);
  expect((await a.post('/v1/customers', { id: 'a-only', email: 'a-only@example.com', name: 'A only' })).status).toBe(200);
  expect((await a.post('/v1/customers', { id: 'same-id', email: 'same@example.com', name: 'A same' })).status).toBe(200);
  expect((await a.post('/v1/attach', { customer: 'a-only', product: 'a-free' })).status).toBe(200);
  // Everything tenant A can see, to compare before and after B's attempts.
  snapshotOfA = async () => ({
    plans: (await a.get('/v1/plans')).body,
    systems: (await a.get('/v1/credit-systems')).body,
    packs: (await a.get('/v1/credit-packs')).body,
    aOnly: (await a.get('/v1/customers/a-only')).body,
    same: (await a.get('/v1/customers/same-id')).body,
  });
});

describe('tenant isolation: catalog and customers', () => {
  it('catalog reads show only the caller’s own catalog', async () => {
    const plans = await b.get('/v1/plans');
    expect(plans.body.plans.map((p: { slug: string }) => p.slug).sort()).toEqual(['b-free', 'shared-plan']);
    expect(plans.body.plans.find((p: { slug: string }) => p.slug === 'shared-plan').name).toBe('b shared plan');
    expect((await b.get('/v1/plans/a-free')).status).toBe(404);
    const systems = await b.get('/v1/credit-systems');
    expect(systems.body.creditSystems.map((s: { slug: string }) => s.slug)).toEqual(['b-credits']);
    expect(systems.body.creditSystems[0].features).toEqual([{ feature: 'shared-feature', creditCost: 99 }]);
    const packs = await b.get('/v1/credit-packs');
    expect(packs.body.creditPacks.map((p: { slug: string }) => p.slug)).toEqual(['b-pack']);
  });

  it('another tenant’s customer ids are not found, and reusing them creates the caller’s own customer', async () => {
    const before = await snapshotOfA();
    expect((await b.get('/v1/customers/a-only')).status).toBe(404);
    expect((await b.get('/v1/customers/same-id')).status).toBe(404);
    const own = await b.post('/v1/customers', { id: 'same-id', email: 'same@example.com', name: 'B same' });
    expect(own.status).toBe(200);
    expect(own.body.name).toBe('B same');
    // Resolving by email stays inside the tenant too.
    const byEmail = await b.post('/v1/customers', { email: 'a-only@example.com', name: 'B by email' });
    expect(byEmail.body.id).not.toBe('a-only');
    expect(await snapshotOfA()).toEqual(before);
  });

  it('attach with another tenant’s plan slug is 404; attach on a shared id changes only the caller’s customer', async () => {
    const before = await snapshotOfA();
    const foreign = await b.post('/v1/attach', { customer: 'a-only', product: 'a-free' });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('plan_not_found');
    const shared = await b.post('/v1/attach', { customer: 'a-only', product: 'shared-plan' });
    expect(shared.status).toBe(200);
    expect((await b.get('/v1/customers/a-only')).body.subscription.plan).toBe('shared-plan');
    expect(await snapshotOfA()).toEqual(before);
    expect((await a.get('/v1/customers/a-only')).body.subscription.plan).toBe('a-free');
  });

  it('a sync with another key leaves the other tenant’s catalog as it was, even with the same slugs', async () => {
    const before = await snapshotOfA();
    const res = await b.post('/v1/sync', { ...catalogOf('b'), plans: [{ slug: 'shared-plan', name: 'renamed by b', price: 0, currency: 'USD', interval: 'monthly', features: [] }], creditPacks: [] });
    expect(res.status).toBe(200);
    expect(res.body.plans.updated).toEqual(['shared-plan']);
    expect(res.body.plans.removed).toEqual(['b-free']); // b's own unsubscribed plan; a's plans are untouched
    expect(await snapshotOfA()).toEqual(before);
    const dry = await b.post('/v1/sync?dryRun=true', { features: catalogOf('a').features });
    expect(dry.status).toBe(200);
    expect(dry.body.features).toMatchObject({ created: ['a-feature'], updated: ['shared-feature'] });
    expect(await snapshotOfA()).toEqual(before);
  });

  it('no key, a malformed key or a revoked-looking key gets 401 on every catalog route', async () => {
    const routes: [string, string][] = [
      ['post', '/v1/sync'], ['post', '/v1/customers'], ['get', '/v1/customers/a-only'], ['post', '/v1/attach'],
      ['get', '/v1/plans'], ['get', '/v1/plans/a-free'], ['get', '/v1/credit-systems'], ['get', '/v1/credit-packs'],
    ];
    for (const key of [null, 'sk_test_0000000000000000000000000000000x', 'not-a-key']) {
      const api = client(key);
      for (const [method, path] of routes) {
        const res = method === 'get' ? await api.get(path) : await api.post(path, {});
        expect(res.status, `${method} ${path} with ${key}`).toBe(401);
        expect(res.body.error.code).toBe('unauthorized');
      }
    }
  });
});

describe('tenant isolation: metering and billing routes with another tenant’s ids', () => {
  it('check, track, addon, purchases and wallet never reach the other tenant’s customer, plan or purchase', async () => {
    // Tenant A: its customer has an allowance and a pending purchase.
    const addon = await a.post('/v1/addon', { customer: 'a-only', pack: 'a-pack' });
    expect(addon.status).toBe(200);
    const aCheck = async () => (await a.post('/v1/check', { customer: 'a-only', feature: 'shared-feature' })).body;
    const before = await aCheck();
    expect(before.allowed).toBe(true);

    // B asks about an id B has never used: B gets its own new customer (created on first use), without any plan.
    const check = await b.post('/v1/check', { customer: 'a-only-2', feature: 'shared-feature' });
    expect(check.body).toMatchObject({ allowed: false, code: 'no_active_subscription' });
    // B debits (strict path, synchronous) the same customer id and feature slug A uses:
    // it is B's own customer and B's own balance; A's does not move.
    const bCatalog = catalogOf('b');
    bCatalog.plans.push({ slug: 'b-iso', name: 'b iso', price: 0, currency: 'USD', interval: 'monthly', features: [{ slug: 'b-credits', limit: 1000 }] });
    expect((await b.post('/v1/sync', bCatalog)).status).toBe(200);
    expect((await b.post('/v1/attach', { customer: 'a-only', product: 'b-iso' })).status).toBe(200);
    const debit = await b.post('/v1/check', { customer: 'a-only', feature: 'shared-feature', value: 1, sendEvent: true, id: `iso-${Date.now()}` });
    expect(debit.body).toMatchObject({ allowed: true });
    expect(debit.body.credits.plan.balance).toBe(1000 - 99);
    const track = await b.post('/v1/track', { customer: 'a-only', feature: 'shared-feature', value: 1, id: `iso-t-${Date.now()}` });
    expect(track.status).toBe(200);
    // A's pack slug and A's purchase reference do not exist for B.
    const foreignPack = await b.post('/v1/addon', { customer: 'a-only', pack: 'a-pack' });
    expect(foreignPack.status).toBe(404);
    const foreignPurchase = await b.get(`/v1/purchases/${addon.body.reference}`);
    expect(foreignPurchase.status).toBe(404);
    expect((await a.get(`/v1/purchases/${addon.body.reference}`)).status).toBe(200);
    const wallet = await b.get('/v1/wallet?customer=a-only');
    expect(wallet.body.hasCard ?? false).toBe(false);
    expect(await aCheck()).toEqual(before);
  });
});

describe('tenant isolation: operator routes (lists, balances, settings, keys, repair)', () => {
  it('every operator route with B’s key and A’s ids is 404 or shows none of A’s rows, and A’s data does not change', async () => {
    // A: a customer of its own, a purchase, a balance alert, a second API key, a webhook endpoint.
    const secret = `a-secret-${Date.now()}`;
    expect((await a.post('/v1/customers', { id: secret, email: `${secret}@example.com` })).status).toBe(200);
    const purchase = await a.post('/v1/addon', { customer: secret, pack: 'a-pack' });
    expect(purchase.status, JSON.stringify(purchase.body)).toBe(200);
    expect((await a.put('/v1/webhooks/balance-alerts', { creditSystem: 'a-credits', lowBalance: 5 })).status).toBe(200);
    const key = await a.post('/v1/api-keys', { name: 'iso' });
    expect(key.status, JSON.stringify(key.body)).toBeLessThan(300);
    const keyId: string = key.body.apiKey?.id ?? key.body.id;
    expect(keyId).toMatch(/^[0-9a-f-]{36}$/);
    const endpoint = await a.post('/v1/webhooks/endpoints', { url: 'http://127.0.0.1:9/iso', events: ['purchase.completed'] });
    expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
    const topup = await a.post('/v1/auto-topup', { customer: secret, creditSystem: 'a-credits', threshold: 5, pack: 'a-pack', quantity: 1 });
    expect(topup.status, JSON.stringify(topup.body)).toBe(200);
    const line = JSON.stringify({ id: `${secret}-imp`, customer: secret, feature: 'shared-feature', value: 2, timestamp: new Date(Date.now() - 60_000).toISOString() });
    const imported = await a.post('/v1/imports?mode=report', `${line}\n`, { 'Content-Type': 'application/x-ndjson' });
    expect(imported.status, JSON.stringify(imported.body)).toBeLessThan(300);
    const importId: string = imported.body.id;
    await eventually(async () => (await a.get(`/v1/imports/${importId}`)).body.state === 'completed', 60_000);
    const usageOfA = `/v1/usage?customers=${secret}&from=${new Date(Date.now() - 3_600_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}`;
    await eventually(async () => (await a.get(usageOfA)).body.data?.[0]?.count === 1, 30_000);
    const aState = async () => ({
      customers: (await a.get(`/v1/customers?search=${secret}`)).body.data,
      balances: (await a.get(`/v1/customers/${secret}/balances`)).body,
      purchases: (await a.get(`/v1/purchases?customer=${secret}`)).body.data,
      alert: (await a.get('/v1/webhooks/balance-alerts?creditSystem=a-credits')).body,
      keys: (await a.get('/v1/api-keys')).body,
      deliveries: (await a.get(`/v1/webhooks/endpoints/${endpoint.body.id}/deliveries`)).body.data,
      topup: (await a.get(`/v1/auto-topup?customer=${secret}&creditSystem=a-credits`)).body,
      import: (({ state, accepted, rejected, revertedAt }) => ({ state, accepted, rejected, revertedAt }))((await a.get(`/v1/imports/${importId}`)).body),
      usage: (await a.get(usageOfA)).body.data,
    });
    const before = await aState();
    expect(before.customers.map((c: { id: string }) => c.id)).toEqual([secret]);
    expect(before.purchases.map((p: { reference: string }) => p.reference)).toEqual([purchase.body.reference]);

    // B's lists never show A's rows
    const lists = [
      `/v1/customers?search=${secret}`, `/v1/purchases?customer=${secret}`, '/v1/purchases', '/v1/imports', '/v1/api-keys',
      '/v1/webhooks/endpoints', '/v1/dead-letters', usageOfA, `/v1/usage?groupBy=customer`,
    ];
    for (const path of lists) {
      const res = await b.get(path);
      expect(res.status, path).toBe(200);
      const text = JSON.stringify(res.body);
      for (const aValue of [secret, purchase.body.reference, keyId, endpoint.body.id, importId]) expect(text, `${path} shows ${aValue}`).not.toContain(aValue);
    }
    expect((await b.get(usageOfA)).body.data).toEqual([]);
    // B's reads and writes on A's ids are 404
    const notFound: [string, string][] = [
      ['get', `/v1/customers/${secret}/balances`],
      ['get', `/v1/purchases/${purchase.body.reference}`],
      ['post', `/v1/purchases/${purchase.body.reference}/refund`],
      ['get', '/v1/webhooks/balance-alerts?creditSystem=a-credits'],
      ['del', '/v1/webhooks/balance-alerts?creditSystem=a-credits'],
      ['get', `/v1/webhooks/endpoints/${endpoint.body.id}`],
      ['get', `/v1/webhooks/endpoints/${endpoint.body.id}/deliveries`],
      ['del', `/v1/webhooks/endpoints/${endpoint.body.id}`],
      ['post', `/v1/api-keys/${keyId}/rotate`],
      ['del', `/v1/api-keys/${keyId}`],
      ['get', `/v1/auto-topup?customer=${secret}&creditSystem=a-credits`],
      ['del', `/v1/auto-topup?customer=${secret}&creditSystem=a-credits`],
      ['get', `/v1/imports/${importId}`],
      ['get', `/v1/imports/${importId}/rejected`],
      ['post', `/v1/imports/${importId}/cancel`],
      ['post', `/v1/imports/${importId}/revert`],
      ['get', `/v1/subscriptions?customer=${secret}`],
      ['get', `/v1/customers/${secret}/balance-stream`],
    ];
    for (const [method, path] of notFound) {
      const res = method === 'get' ? await b.get(path) : method === 'del' ? await b.del(path) : await b.post(path, {});
      expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(404);
    }
    // a rollup repair with B's key runs over B's rows only: A's answers stay the same
    expect((await b.post('/v1/usage/repair', { from: new Date(Date.now() - 86_400_000).toISOString().slice(0, 10), to: new Date(Date.now() + 86_400_000).toISOString().slice(0, 10) })).status).toBe(200);
    expect(await aState()).toEqual(before);
  });
});
