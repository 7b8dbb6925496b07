import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeys, keys, scanKeys } from '@tally/redis';
import { client, eventually, newTenant } from './support/stack.ts';
import { privateStack, type PrivateStack } from './support/private-stack.ts';
import { flushCustomer, usageTotals } from './metering-helpers.ts';

/**
 * A plan switch keeps the period and what was used in it (docs/metering.md).
 * Here the customer passes through a plan that does not meter `api` at all,
 * and its state is lost and rebuilt while on that plan; switching back to a
 * plan that meters `api` monthly must still count the period's earlier usage,
 * exactly as when no rebuild happened (a path a simulator divergence pointed
 * at, seed 5 with 300 operations; it holds).
 */
const plan = (slug: string, api: number | null) => ({
  slug, name: slug, price: 0, currency: 'USD', interval: 'monthly',
  features: api === null ? [{ slug: 'other', enabled: true, limit: 10, reset: 'monthly', overage: 'block' }] : [{ slug: 'api', enabled: true, limit: api, reset: 'monthly', overage: 'charge' }],
});

async function tenantWithPlans(base?: string) {
  const tenant = await newTenant('plan-switch');
  const api = client(tenant.apiKey.secret, base);
  const sync = await api.post('/v1/sync', {
    features: [
      { slug: 'api', type: 'metered', name: 'API calls' },
      { slug: 'other', type: 'metered', name: 'Other' },
    ],
    creditSystems: [],
    creditPacks: [],
    plans: [plan('a', 50), plan('b', null), plan('c', 50)],
  });
  expect(sync.status, JSON.stringify(sync.body)).toBe(200);
  return { tenant, api };
}

async function track(api: ReturnType<typeof client>, customer: string, value: number) {
  const res = await api.post('/v1/track', { customer, feature: 'api', value, id: randomUUID() });
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
}

const used = async (api: ReturnType<typeof client>, customer: string) => (await api.post('/v1/check', { customer, feature: 'api' })).body;

describe('plan switch through a plan without the meter', () => {
  const cases = [
    { rebuild: false, first: 'track' },
    { rebuild: true, first: 'track' }, // the workers' debit settles the period
    { rebuild: true, first: 'check' }, // a strict check settles it
  ] as const;
  for (const { rebuild, first } of cases) {
    it(`counts the period's earlier usage after the switch back${rebuild ? `, with a rebuild on the plan between (then ${first})` : ''}`, async () => {
      const { tenant, api } = await tenantWithPlans();
      const customer = `cus_${randomUUID().slice(0, 8)}`;
      expect((await api.post('/v1/customers', { id: customer })).status).toBeLessThan(300);
      expect((await api.post('/v1/attach', { customer, product: 'a' })).status).toBe(200);
      await track(api, customer, 40);
      await eventually(async () => (await used(api, customer)).usage === 40);
      // its row in ClickHouse before the state is lost (a flush with a debit in flight is the rebuild's stated limit)
      await eventually(async () => (await usageTotals(tenant.tenantId, customer)).events === 1);

      expect((await api.post('/v1/attach', { customer, product: 'b' })).status).toBe(200);
      if (rebuild) {
        expect(await flushCustomer(tenant.tenantId, customer)).toBeGreaterThan(0);
        // the state is rebuilt while on plan b (a check of a feature b meters; one of `api` answers before touching state)
        expect((await api.post('/v1/check', { customer, feature: 'other' })).body).toMatchObject({ allowed: true, usage: 0 });
      }
      expect((await api.post('/v1/attach', { customer, product: 'c' })).status).toBe(200);
      if (first === 'track') await track(api, customer, 15);
      else expect((await api.post('/v1/check', { customer, feature: 'api', value: 15, sendEvent: true })).body).toMatchObject({ allowed: true, usage: 50 });
      // 40 + 15 of 50 in this period: 10 from the allowance, 5 overage
      await eventually(async () => (await usageTotals(tenant.tenantId, customer)).events === 2);
      expect(await usageTotals(tenant.tenantId, customer)).toEqual({ events: 2, plan: 50, purchased: 0, overage: 5 });
      expect(await used(api, customer)).toMatchObject({ usage: 50, limit: 50, balance: 0 });
    });
  }

  it('settles the period inside one deduct job that holds events of both plans (no job waits for its own rows)', { timeout: 120_000 }, async () => {
    stack = await privateStack({ apis: 1, workers: 1 });
    const { tenant, api } = await tenantWithPlans(stack.apis[0]!.url);
    const customer = `cus_${randomUUID().slice(0, 8)}`;
    expect((await api.post('/v1/customers', { id: customer })).status).toBeLessThan(300);
    expect((await api.post('/v1/attach', { customer, product: 'a' })).status).toBe(200);
    await track(api, customer, 40);
    await eventually(async () => (await usageTotals(tenant.tenantId, customer)).events === 1);
    expect((await api.post('/v1/attach', { customer, product: 'b' })).status).toBe(200);
    // lose the customer's state while on plan b, and rebuild it there
    const tag = keys.customerTag(tenant.tenantId, customer).replace(/[*?[\]\\]/g, (ch) => `\\${ch}`);
    const found: string[] = [];
    for await (const page of scanKeys(stack.redis, `tally:${tag}*`)) found.push(...page);
    expect(found.length).toBeGreaterThan(0);
    await deleteKeys(stack.redis, found);
    expect((await api.post('/v1/check', { customer, feature: 'other' })).body).toMatchObject({ allowed: true });
    // one event under plan b and one under plan c reach the workers together: one job, two runs of terms
    const workers = stack.workers[0]!.child;
    workers.kill('SIGSTOP');
    // (through track/batch, whose answer reads no balance, so the API does not settle the period first)
    const batch = async (value: number) => {
      const res = await api.post('/v1/track/batch', { events: [{ customer, feature: 'api', value, id: randomUUID() }] });
      expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    };
    try {
      await batch(1); // b does not meter api: overage
      expect((await api.post('/v1/attach', { customer, product: 'c' })).status).toBe(200);
      await batch(15); // c: 10 left of the period's 50, then 5 overage
    } finally {
      workers.kill('SIGCONT');
    }
    await eventually(async () => (await usageTotals(tenant.tenantId, customer)).events === 3, 60_000, 250);
    expect(await usageTotals(tenant.tenantId, customer)).toEqual({ events: 3, plan: 50, purchased: 0, overage: 6 });
  });
});

let stack: PrivateStack | undefined;
afterAll(async () => {
  await stack?.stop();
});
