import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tally } from '@tally/sdk';
import { client, eventually, newTenant } from './support/stack.ts';
import { privateStack, type PrivateStack } from './support/private-stack.ts';
import { catalog, creditsOf, db, saveCard, webhookReceiver } from './billing.support.ts';
import { ageSubscription, bodies, intoPeriod, paidCustomer, renewalCharges, subscriptionsOf } from './billing-renewal.support.ts';

/**
 * Plan changes of a paid plan (docs/billing.md "Plan changes"): cancel at period end (and its undo),
 * downgrade at period end, upgrade at once with a prorated charge. A stack of its own whose
 * workers sweep every 250 ms; time moves by ageing the subscription in Postgres.
 */
let stack: PrivateStack;
beforeAll(async () => {
  stack = await privateStack({ apis: 1, workers: 1, env: { RENEWAL_SWEEP_EVERY_MS: '250', RENEWAL_CLAIM_SECONDS: '3' } });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
  await db.end();
});

const basic = {
  slug: 'basic',
  name: 'Basic',
  price: 1000,
  currency: 'USD',
  interval: 'monthly',
  features: [
    { slug: 'ai-credits', enabled: true, limit: 1000, reset: 'monthly', overage: 'block' },
    { slug: 'ai-tokens', enabled: true },
    { slug: 'gpt-4', enabled: true },
  ],
};

async function tenant() {
  const t = await newTenant('renewal-changes');
  const api = client(t.apiKey.secret, stack.apis[0]!.url);
  const sync = await api.post('/v1/sync', { ...catalog, plans: [...catalog.plans, basic] });
  if (sync.status !== 200) throw new Error(`sync: ${sync.status} ${JSON.stringify(sync.body)}`);
  const receiver = await webhookReceiver();
  await api.post('/v1/webhooks/endpoints', { url: receiver.url });
  return { tenantId: t.tenantId, api, receiver, sdk: new Tally({ apiKey: t.apiKey.secret, apiUrl: stack.apis[0]!.url }) };
}

const types = (received: Array<{ body: string }>) => bodies(received).map((b) => b.type);

describe('plan changes', () => {
  it('cancel at period end: undone before it, then the plan ends at the boundary with no renewal', { timeout: 120_000 }, async () => {
    const { tenantId, api, receiver, sdk } = await tenant();
    const { customer, subscriptionId } = await paidCustomer(api, 'pro');
    const missing = await api.post('/v1/subscriptions/cancel', {});
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('validation_error');
    const unknown = await api.post('/v1/subscriptions/cancel', { customer: 'nobody-here' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('subscription_not_found');

    const canceled = await api.post('/v1/subscriptions/cancel', { customer });
    expect(canceled.status).toBe(200);
    expect(canceled.body.subscription).toMatchObject({ plan: 'pro', status: 'active', cancelAtPeriodEnd: true });
    const resumed = await sdk.resumeSubscription({ customer }); // the SDK's client for the same routes
    expect(resumed.subscription).toMatchObject({ plan: 'pro', status: 'active', cancelAtPeriodEnd: false });
    expect((await sdk.subscriptions(customer)).subscription).toMatchObject({ cancelAtPeriodEnd: false });
    expect((await api.post('/v1/subscriptions/cancel', { customer })).status).toBe(200);
    expect((await creditsOf(api, customer)).plan).toBe(5000); // works until the period end

    await ageSubscription(subscriptionId);
    await eventually(async () => (await subscriptionsOf(api, customer)).subscription === null, 30_000);
    expect((await subscriptionsOf(api, customer)).renewals).toEqual([]);
    expect(await renewalCharges(tenantId)).toEqual([]);
    const after = await eventually(async () => {
      const c = await api.post('/v1/check', { customer, feature: 'ai-tokens', value: 1 });
      return c.body.code === 'no_active_subscription' ? c : null;
    });
    expect(after.body.allowed).toBe(false);
    await eventually(async () => types(receiver.received).includes('subscription.canceled'));
    await receiver.close();
  });

  it('downgrade at period end: scheduled (and undone by attaching the current plan), applied at the boundary and charged the new price', { timeout: 120_000 }, async () => {
    const { tenantId, api, receiver } = await tenant();
    const { customer, subscriptionId } = await paidCustomer(api, 'pro');
    const down = await api.post('/v1/attach', { customer, product: 'basic' });
    expect(down.status).toBe(200);
    expect(down.body.requiresCheckout).toBe(false);
    expect((await subscriptionsOf(api, customer)).subscription).toMatchObject({ plan: 'pro', scheduledPlan: 'basic' });
    await api.post('/v1/attach', { customer, product: 'pro' }); // undo
    expect((await subscriptionsOf(api, customer)).subscription).toMatchObject({ plan: 'pro', scheduledPlan: null });
    await api.post('/v1/attach', { customer, product: 'basic' });
    expect((await creditsOf(api, customer)).plan).toBe(5000); // pro until the boundary
    expect(await renewalCharges(tenantId)).toEqual([]);

    await ageSubscription(subscriptionId);
    const s = await eventually(async () => {
      const x = await subscriptionsOf(api, customer);
      return x.renewals[0]?.status === 'succeeded' ? x : null;
    }, 30_000);
    expect(s.subscription).toMatchObject({ plan: 'basic', scheduledPlan: null, status: 'active' });
    expect(s.renewals).toHaveLength(1);
    expect(s.renewals[0]).toMatchObject({ kind: 'renewal', plan: 'basic', amount: 1000 });
    expect((await renewalCharges(tenantId)).map((c) => c.amount)).toEqual([1000]);
    await eventually(async () => (await creditsOf(api, customer)).plan === 1000);
    await eventually(async () => types(receiver.received).includes('subscription.updated'));
    await receiver.close();
  });

  it('upgrade at once: charged (new − old) × remaining ÷ period length, rounded down, and the new allowance applies now', { timeout: 120_000 }, async () => {
    const { tenantId, api, receiver } = await tenant();
    const { customer, subscriptionId } = await paidCustomer(api, 'basic');
    await intoPeriod(subscriptionId, '10 days'); // ten days into the paid period
    const before = (await subscriptionsOf(api, customer)).subscription!;
    const start = new Date(before.anchorAt).getTime();
    const end = new Date(before.currentPeriodEnd!).getTime();
    expect((await creditsOf(api, customer)).plan).toBe(1000);

    const t0 = Date.now();
    const up = await api.post('/v1/attach', { customer, product: 'pro' });
    const t1 = Date.now();
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ success: true, requiresCheckout: false, subscription: { plan: 'pro', status: 'active' } });
    // the expected amount, computed here: 2000 − 1000 = 1000 minor units for the share of the period left
    const at = (t: number) => Math.floor((1000 * (end - t)) / (end - start));
    const charged = (await subscriptionsOf(api, customer)).renewals.find((r) => r.kind === 'upgrade')!;
    expect(charged).toMatchObject({ status: 'succeeded', plan: 'pro' });
    expect(charged.amount).toBeGreaterThanOrEqual(at(t1));
    expect(charged.amount).toBeLessThanOrEqual(at(t0));
    expect(at(t0) - at(t1)).toBeLessThanOrEqual(1);
    expect(charged.amount).toBeGreaterThan(600); // ~20 of ~30 days left: about two thirds of 1000
    expect((await renewalCharges(tenantId)).map((c) => c.amount)).toEqual([charged.amount]);
    const listed = (await api.get(`/v1/purchases?customer=${customer}`)).body.data;
    expect(listed).toContainEqual(expect.objectContaining({ reference: charged.reference, kind: 'upgrade', source: 'renewal', plan: 'pro', amount: charged.amount, status: 'completed' }));
    const after = (await subscriptionsOf(api, customer)).subscription!;
    expect(after).toMatchObject({ plan: 'pro', status: 'active', currentPeriodEnd: before.currentPeriodEnd, anchorAt: before.anchorAt });
    await eventually(async () => (await creditsOf(api, customer)).plan === 5000);

    // a second customer whose card declines: 402, nothing changes
    const other = await paidCustomer(api, 'basic');
    await saveCard(api, other.customer, '4000000000000002');
    const declined = await api.post('/v1/attach', { customer: other.customer, product: 'pro' });
    expect(declined.status).toBe(402);
    expect(declined.body.error.code).toBe('card_declined');
    expect((await subscriptionsOf(api, other.customer)).subscription).toMatchObject({ plan: 'basic', status: 'active' });
    expect((await creditsOf(api, other.customer)).plan).toBe(1000);
    await receiver.close();
  });
});
