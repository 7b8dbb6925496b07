import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './support/stack.ts';
import { fakeStripe } from './support/fake-stripe.ts';
import { privateStack, type PrivateStack } from './support/private-stack.ts';
import { billingTenant, catalog, db } from './billing.support.ts';
import { ageSubscription, subscriptionsOf } from './billing-renewal.support.ts';

/**
 * A renewal through Stripe with the tenant's own keys: the same off-session path as auto top-up
 * (a PaymentIntent confirmed off-session with the saved card), Stripe's Idempotency-Key derived from
 * the renewal. Stripe is the fake of test/support (it records every call); a stack of its own.
 */
const KEY = `sk_test_renew${randomUUID().replace(/-/g, '').slice(0, 16)}`;
const HOOK = `whsec_renew${randomUUID().replace(/-/g, '').slice(0, 16)}`;
let fake: Awaited<ReturnType<typeof fakeStripe>>;
let stack: PrivateStack;
beforeAll(async () => {
  fake = await fakeStripe();
  stack = await privateStack({ apis: 1, workers: 1, env: { STRIPE_API_BASE: fake.url, RENEWAL_SWEEP_EVERY_MS: '250' } });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
  await fake?.close();
  await db.end();
});

const signed = (type: string, object: Record<string, unknown>) => {
  const payload = JSON.stringify({ id: `evt_${randomUUID().replace(/-/g, '')}`, object: 'event', type, data: { object } });
  return { payload, headers: { 'Stripe-Signature': new Stripe('sk_test_signing').webhooks.generateTestHeaderString({ payload, secret: HOOK }) } };
};

describe('renewal through Stripe', () => {
  it("charges the saved card off-session with the tenant's key and a key derived from the renewal", { timeout: 120_000 }, async () => {
    const { api, tenantId } = await billingTenant(stack.apis[0]!.url);
    const plan = { ...catalog.plans[0]!, slug: 'pro-stripe', name: 'Pro (Stripe)', provider: 'stripe' };
    expect((await api.post('/v1/sync', { ...catalog, plans: [...catalog.plans, plan] })).status).toBe(200);
    expect((await api.put('/v1/providers/stripe/credentials', { secretKey: KEY, webhookSecret: HOOK })).status).toBe(200);
    const customer = `cus_${randomUUID().slice(0, 8)}`;
    await api.post('/v1/customers', { id: customer, email: `${customer}@example.test` });
    const attach = await api.post('/v1/attach', { customer, product: 'pro-stripe' });
    expect(attach.body, JSON.stringify(attach.body)).toMatchObject({ requiresCheckout: true });
    const done = signed('checkout.session.completed', {
      id: attach.body.checkoutUrl.split('/').pop(), object: 'checkout.session', mode: 'payment', payment_status: 'paid',
      client_reference_id: attach.body.reference, payment_intent: `pi_first_${randomUUID().slice(0, 8)}`,
    });
    const hook = await api.post(`/v1/providers/stripe/webhook/${tenantId}`, done.payload, done.headers);
    expect(hook.status, JSON.stringify(hook.body)).toBe(200);
    const sub = await eventually(async () => {
      const s = (await subscriptionsOf(api, customer)).subscription;
      return s?.status === 'active' && s.plan === 'pro-stripe' ? s : null;
    });
    await eventually(async () => (await api.get(`/v1/wallet?customer=${customer}`)).body.hasCard === true);

    await ageSubscription(sub.id);
    const renewal = await eventually(async () => {
      const r = (await subscriptionsOf(api, customer)).renewals[0];
      return r?.status === 'succeeded' ? r : null;
    }, 30_000);
    expect(renewal).toMatchObject({ kind: 'renewal', plan: 'pro-stripe', amount: 2000, attempt: 1 });
    const intents = fake.calls.filter((c) => c.method === 'POST' && c.path === '/v1/payment_intents');
    expect(intents).toHaveLength(1);
    expect(intents[0]!.key).toBe(`tally_renewal_${renewal.reference}_1`);
    expect(intents[0]!.auth).toBe(`Bearer ${KEY}`);
    expect(intents[0]!.form.get('amount')).toBe('2000');
    expect(intents[0]!.form.get('off_session')).toBe('true');
    expect(intents[0]!.form.get('confirm')).toBe('true');
  });
});
