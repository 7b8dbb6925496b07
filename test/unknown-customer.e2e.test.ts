/**
 * One rule for an unknown customer id (docs/metering.md, "Unknown customers"): every call that acts for a
 * customer — track, track/batch, check, attach, addon — creates it on first use (with customerData when
 * given) and gives it the tenant's auto-enabled free plan; a request refused anyway (unknown feature, pack
 * or plan) creates nothing; reads answer 404 customer_not_found and create nothing.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { client, eventually, newTenant } from './support/stack.ts';

type Api = ReturnType<typeof client>;
let api: Api;

const catalog = {
  features: [{ slug: 'gpt-4', type: 'metered', name: 'GPT-4' }],
  creditSystems: [{ slug: 'ai-credits', name: 'AI Credits', features: [{ feature: 'gpt-4', creditCost: 20 }] }],
  creditPacks: [{ slug: 'pack-100', name: '100 credits', credits: 100, price: 500, currency: 'USD', creditSystem: 'ai-credits' }],
  plans: [
    { slug: 'free', name: 'Free', price: 0, currency: 'USD', interval: 'monthly', autoEnable: true,
      features: [{ slug: 'ai-credits', enabled: true, limit: 200, reset: 'monthly', overage: 'block' }] },
    { slug: 'team', name: 'Team', price: 0, currency: 'USD', interval: 'monthly',
      features: [{ slug: 'ai-credits', enabled: true, limit: 1000, reset: 'monthly', overage: 'block' }] },
  ],
};

beforeAll(async () => {
  api = client((await newTenant('unknown-customer')).apiKey.secret);
  const sync = await api.post('/v1/sync', catalog);
  expect(sync.status, JSON.stringify(sync.body)).toBe(200);
});

const fresh = (what: string) => `${what}-${randomUUID().slice(0, 8)}`;
const customer = async (id: string) => api.get(`/v1/customers/${id}`);

describe('an unknown customer', () => {
  it('is created by check, on the auto-enabled plan, with customerData', async () => {
    const id = fresh('check');
    const res = await api.post('/v1/check', { customer: id, feature: 'gpt-4', value: 2, customerData: { email: `${id}@example.com`, name: 'Checked' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ allowed: true, balance: 200 });
    const c = await customer(id);
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ id, email: `${id}@example.com`, name: 'Checked' });
    expect(JSON.stringify(c.body)).toContain('free');
  });

  it('is created by the strict check, which debits it at once', async () => {
    const id = fresh('strict');
    const res = await api.post('/v1/check', { customer: id, feature: 'gpt-4', value: 3, sendEvent: true });
    expect(res.body).toMatchObject({ allowed: true, balance: 200 - 60 });
    expect((await customer(id)).status).toBe(200);
  });

  it('is created by track and track/batch', async () => {
    const one = fresh('track');
    expect((await api.post('/v1/track', { id: randomUUID(), customer: one, feature: 'gpt-4' })).status).toBe(200);
    expect((await customer(one)).status).toBe(200);
    const two = fresh('batch');
    const batch = await api.post('/v1/track/batch', { events: [{ id: randomUUID(), customer: two, feature: 'gpt-4' }] });
    expect(batch.body.accepted).toBe(1);
    expect((await customer(two)).status).toBe(200);
    await eventually(async () => (await api.post('/v1/check', { customer: two, feature: 'gpt-4' })).body.balance === 180);
  });

  it('is created by addon, which then sends it to checkout', async () => {
    const id = fresh('addon');
    const res = await api.post('/v1/addon', { customer: id, pack: 'pack-100', customerData: { email: `${id}@example.com` } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ success: true, requiresCheckout: true, status: 'awaiting_payment' });
    expect((await customer(id)).body).toMatchObject({ id, email: `${id}@example.com` });
  });

  it('is created by attach, on the plan asked for', async () => {
    const id = fresh('attach');
    expect((await api.post('/v1/attach', { customer: id, product: 'team' })).status).toBe(200);
    expect((await api.post('/v1/check', { customer: id, feature: 'gpt-4' })).body).toMatchObject({ allowed: true, balance: 1000 });
  });

  it('gets the auto-enabled plan the catalog has now, in this long-lived tenant, after a sync switched it under way', async () => {
    const before = fresh('before');
    expect((await api.post('/v1/check', { customer: before, feature: 'gpt-4' })).body).toMatchObject({ allowed: true, balance: 200 });
    // the same tenant re-synced: "team" becomes the plan new customers get, "free" stays for the customers it has
    const sync = await api.post('/v1/sync', { ...catalog, plans: catalog.plans.map((p) => ({ ...p, autoEnable: p.slug === 'team' })) });
    expect(sync.status, JSON.stringify(sync.body)).toBe(200);
    try {
      const after = fresh('after');
      expect((await api.post('/v1/check', { customer: after, feature: 'gpt-4', sendEvent: true })).body).toMatchObject({ allowed: true, balance: 1000 - 20 });
      expect((await api.post('/v1/check', { customer: before, feature: 'gpt-4' })).body).toMatchObject({ allowed: true, balance: 200 });
    } finally {
      // back to the catalog the other cases of this file expect
      expect((await api.post('/v1/sync', catalog)).status).toBe(200);
    }
  });

  it('is not created by a request refused anyway', async () => {
    const id = fresh('refused');
    const check = await api.post('/v1/check', { customer: id, feature: 'nope' });
    expect(check.body).toMatchObject({ allowed: false, code: 'feature_not_found' });
    expect((await api.post('/v1/addon', { customer: id, pack: 'nope' })).status).toBe(404);
    expect((await api.post('/v1/addon', { customer: id, pack: 'pack-100', quantity: 0 })).status).toBe(400);
    expect((await api.post('/v1/attach', { customer: id, product: 'nope' })).status).toBe(404);
    const batch = await api.post('/v1/track/batch', { events: [{ id: randomUUID(), customer: id, feature: 'nope' }] });
    expect(batch.body.rejected).toBe(1);
    expect((await customer(id)).status).toBe(404);
  });

  it('is not created by reads, which answer 404 customer_not_found', async () => {
    const id = fresh('read');
    for (const path of [`/v1/customers/${id}`, `/v1/customers/${id}/balances`, `/v1/wallet?customer=${id}`]) {
      const res = await api.get(path);
      expect(res.status, path).toBe(404);
      expect(res.body.error.code, path).toBe('customer_not_found');
    }
    expect((await customer(id)).status).toBe(404);
  });
});
