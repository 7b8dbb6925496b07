import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from '@tally/postgres';
import { parseConfig, sharedEnv } from '@tally/runtime';
import type { SyncInput } from '@tally/core';
import { TenantService } from '../tenancy/tenants.ts';
import { CatalogService } from '../catalog/catalog-service.ts';
import { CatalogRepo } from '../catalog/catalog-repo.ts';
import { CustomerService } from '../customers/customer-service.ts';
import { CustomerRepo } from '../customers/customer-repo.ts';
import { SubscriptionService } from './subscription-service.ts';
import { SubscriptionRepo } from './subscription-repo.ts';
import type { PlanCheckout, PlanCheckoutRequest } from './plan-checkout.ts';

const config = parseConfig(sharedEnv);
const pool = createPool(config.DATABASE_URL, 4);
afterAll(() => pool.end());

const catalogBody: SyncInput = {
  features: [{ slug: 'gpt-4', type: 'metered' }],
  creditSystems: [{ slug: 'ai-credits', name: 'AI Credits', features: [{ feature: 'gpt-4', creditCost: 20 }] }],
  creditPacks: [],
  plans: [
    { slug: 'free', name: 'Free', price: 0, currency: 'USD', interval: 'monthly', autoEnable: true, features: [{ slug: 'ai-credits', limit: 100 }] },
    { slug: 'trial', name: 'Trial', price: 0, currency: 'USD', interval: 'monthly', trialDays: 14, features: [] },
    { slug: 'pro', name: 'Pro', price: 2000, currency: 'USD', interval: 'monthly', features: [{ slug: 'ai-credits', limit: 5000 }] },
    { slug: 'boost', name: 'Boost', price: 0, currency: 'USD', interval: 'monthly', isAddon: true, features: [] },
  ],
};

async function setup(checkout: PlanCheckout | null = null) {
  const tenantId = (await new TenantService(pool).createTenant(`subs-int-${Date.now()}`)).tenantId;
  const catalog = new CatalogService(new CatalogRepo(pool));
  await catalog.sync(tenantId, catalogBody);
  const customers = new CustomerService(new CustomerRepo(pool), catalog);
  return { tenantId, customers, subscriptions: new SubscriptionService(new SubscriptionRepo(pool), catalog, customers, checkout) };
}

const liveCount = async (tenantId: string, customerId: string) =>
  (await pool.query(`SELECT count(*)::int AS n FROM subscriptions WHERE tenant_id = $1 AND customer_id = $2 AND status IN ('active','trialing')`, [tenantId, customerId])).rows[0].n as number;

describe('SubscriptionService against Postgres', () => {
  it('a new customer gets the auto-enabled free plan; attaching another base plan replaces it, an add-on stacks', async () => {
    const { tenantId, customers, subscriptions } = await setup();
    const ctx = await customers.ensure(tenantId, 'c1', { email: 'c1@example.com' });
    expect(ctx.subscription).toMatchObject({ planSlug: 'free', status: 'active', trialEndsAt: null });

    const trial = await subscriptions.attach(tenantId, { customer: 'c1', product: 'trial' });
    expect(trial.subscription).toMatchObject({ planSlug: 'trial', status: 'trialing' });
    // the trial runs 14 days from now; the period keeps the anchor of the plan it replaced
    const days = (trial.subscription!.trialEndsAt!.getTime() - Date.now()) / 86_400_000;
    expect(Math.round(days)).toBe(14);
    expect(trial.subscription!.anchorAt.getTime()).toBe(ctx.subscription!.anchorAt.getTime());
    expect((await customers.context(tenantId, 'c1'))?.subscription?.planSlug).toBe('trial');

    await subscriptions.attach(tenantId, { customer: 'c1', product: 'boost' });
    expect(await liveCount(tenantId, 'c1')).toBe(2); // trial + add-on
    expect((await customers.context(tenantId, 'c1'))?.subscription?.planSlug).toBe('trial');
  });

  it('switching plans and back keeps the period: each new subscription inherits the anchor, and the context version grows', async () => {
    const { tenantId, customers, subscriptions } = await setup();
    const first = await customers.ensure(tenantId, 'hop', { email: 'hop@example.com' });
    const anchor = first.subscription!.anchorAt.getTime();
    await new Promise((r) => setTimeout(r, 1100)); // a later now() would be a later anchor
    const trial = await subscriptions.attach(tenantId, { customer: 'hop', product: 'trial' });
    const back = await subscriptions.attach(tenantId, { customer: 'hop', product: 'free' });
    expect(trial.subscription!.anchorAt.getTime()).toBe(anchor);
    expect(back.subscription!.anchorAt.getTime()).toBe(anchor);
    expect(back.subscription!.id).not.toBe(first.subscription!.id);
    const now = await customers.context(tenantId, 'hop');
    expect(now!.subscription!.planSlug).toBe('free');
    expect(now!.version).toBeGreaterThanOrEqual(first.version + 2n);
  });

  it('attaching the plan a customer is already on keeps the same subscription and anchor', async () => {
    const { tenantId, subscriptions } = await setup();
    const a = await subscriptions.attach(tenantId, { customer: 'c2', product: 'free' });
    const b = await subscriptions.attach(tenantId, { customer: 'c2', product: 'free' });
    expect(b.subscription?.id).toBe(a.subscription?.id);
    expect(b.subscription?.anchorAt.getTime()).toBe(a.subscription?.anchorAt.getTime());
    expect(await liveCount(tenantId, 'c2')).toBe(1);
  });

  it('concurrent attaches of different base plans leave exactly one live base plan', async () => {
    const { tenantId, customers, subscriptions } = await setup();
    await customers.ensure(tenantId, 'c3');
    await Promise.all([
      subscriptions.attach(tenantId, { customer: 'c3', product: 'trial' }),
      subscriptions.attach(tenantId, { customer: 'c3', product: 'free' }),
      subscriptions.attach(tenantId, { customer: 'c3', product: 'trial' }),
    ]);
    expect(await liveCount(tenantId, 'c3')).toBe(1);
  });

  it('a paid plan without a plan checkout is provider_not_configured and writes nothing', async () => {
    const { tenantId, subscriptions } = await setup();
    await expect(subscriptions.attach(tenantId, { customer: 'c4', product: 'pro' })).rejects.toMatchObject({ code: 'provider_not_configured', status: 400 });
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM subscriptions WHERE tenant_id = $1', [tenantId]);
    expect(rows[0].n).toBe(0);
  });

  it('a paid plan goes through the PlanCheckout seam and is activated once by its reference', async () => {
    const requests: PlanCheckoutRequest[] = [];
    const checkout: PlanCheckout = {
      async start(request) {
        requests.push(request);
        return { checkoutUrl: `https://pay.example/${request.subscriptionId}`, reference: `ref_${request.subscriptionId}` };
      },
    };
    const { tenantId, customers, subscriptions } = await setup(checkout);
    const started = await subscriptions.attach(tenantId, { customer: 'c5', product: 'pro', callbackUrl: 'https://app.example/done' });
    expect(started).toMatchObject({ requiresCheckout: true, subscription: { planSlug: 'pro', status: 'pending' } });
    expect(requests[0]).toMatchObject({ tenantId, customerId: 'c5', currency: 'USD', callbackUrl: 'https://app.example/done', plan: { slug: 'pro' } });
    // Until paid the customer keeps the auto-enabled free plan.
    expect((await customers.context(tenantId, 'c5'))?.subscription?.planSlug).toBe('free');

    const active = await subscriptions.activateSubscription(started.reference!);
    expect(active).toMatchObject({ planSlug: 'pro', status: 'active' });
    expect((await customers.context(tenantId, 'c5'))?.subscription?.planSlug).toBe('pro');
    expect(await liveCount(tenantId, 'c5')).toBe(1);
    const again = await subscriptions.activateSubscription(started.reference!);
    expect(again.id).toBe(active.id);
    await expect(subscriptions.activateSubscription(started.reference!, '00000000-0000-0000-0000-000000000000')).rejects.toMatchObject({ code: 'subscription_not_found' });
  });

  it('a failing checkout leaves no pending subscription behind', async () => {
    const { tenantId, subscriptions } = await setup({ start: async () => { throw new Error('provider down'); } });
    await expect(subscriptions.attach(tenantId, { customer: 'c6', product: 'pro' })).rejects.toThrow('provider down');
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM subscriptions WHERE tenant_id = $1 AND status = 'pending'`, [tenantId]);
    expect(rows[0].n).toBe(0);
  });
});
