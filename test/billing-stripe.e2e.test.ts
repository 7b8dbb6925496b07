import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { eventually } from './support/stack.ts';
import { fakeStripe } from './support/fake-stripe.ts';
import { startApp, type AppProcess } from './support/processes.ts';
import { billingTenant, buyNow, creditsOf, db } from './billing.support.ts';

/**
 * A pack switched to Stripe, end to end through Tally's API and workers, with
 * Stripe's API played by a local server answering Stripe's documented shapes
 * (STRIPE_API_BASE) and webhooks signed as Stripe signs them. Own API and
 * workers on a separate Redis database: the shared workers have no Stripe key.
 */
const WEBHOOK_SECRET = 'whsec_e2e_stripe_secret';
let fake: Awaited<ReturnType<typeof fakeStripe>>;

const started: AppProcess[] = [];
afterAll(async () => {
  for (const app of started.reverse()) await app.stop();
  await fake?.close();
  await db.end();
});

describe('a pack sold through Stripe', () => {
  it('checkout session, signed webhook, saved card charged off-session, refund', { timeout: 120_000 }, async () => {
    fake = await fakeStripe();
    const { calls } = fake;
    const { PUBLIC_URL: _shared, ...stackEnv } = inject('stackEnv');
    const env = {
      ...stackEnv,
      REDIS_URL: 'redis://127.0.0.1:6379/6',
      KAFKA_CONSUMER_GROUP: `${stackEnv.KAFKA_CONSUMER_GROUP}-billing-stripe`,
      STRIPE_SECRET_KEY: 'sk_test_e2e_local',
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_BASE: fake.url,
    };
    const api = await startApp('api', env);
    started.push(api);
    started.push(await startApp('workers', { ...env, PUBLIC_URL: api.url }));

    const { api: tally } = await billingTenant(api.url);
    const customer = 'stripe-buyer';
    await tally.post('/v1/customers', { id: customer, email: 'buyer@example.test' });
    await tally.post('/v1/attach', { customer, product: 'starter' });

    const first = await tally.post('/v1/addon', { customer, pack: 'stripe-pack', quantity: 2 });
    expect(first.body).toMatchObject({ success: true, requiresCheckout: true });
    expect(first.body.checkoutUrl).toMatch(/^https:\/\/checkout\.stripe\.com\/c\/pay\/cs_e2e_/);
    const session = calls.find((c) => c.path === '/v1/checkout/sessions')!;
    expect(session.form.get('client_reference_id')).toBe(first.body.reference);
    expect(session.form.get('line_items[0][quantity]')).toBe('2');
    expect(session.form.get('line_items[0][price_data][unit_amount]')).toBe('500');
    expect(session.key).toBe(`tally_checkout_${first.body.reference}`);

    const payload = JSON.stringify({
      id: `evt_${randomUUID().replace(/-/g, '')}`, // provider event ids are unique: a fixed one would be a re-delivery next run
      object: 'event',
      type: 'checkout.session.completed',
      data: { object: { id: first.body.checkoutUrl.split('/').pop(), object: 'checkout.session', mode: 'payment', payment_status: 'paid', client_reference_id: first.body.reference, payment_intent: 'pi_checkout' } },
    });
    const signature = new Stripe('sk_test_signing').webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
    const hook = await tally.post('/v1/providers/stripe/webhook', payload, { 'Stripe-Signature': signature });
    expect(hook.status).toBe(200);
    const forged = await tally.post('/v1/providers/stripe/webhook', payload, { 'Stripe-Signature': signature.replace(/v1=./, 'v1=0') });
    expect(forged.status).toBe(400);
    await eventually(async () => (await tally.get(`/v1/purchases/${first.body.reference}`)).body.status === 'completed');
    expect(await creditsOf(tally, customer)).toEqual({ balance: 300, addon: 200, plan: 100 });
    const wallet = await tally.get(`/v1/wallet?customer=${customer}`);
    expect(wallet.body.card).toMatchObject({ provider: 'stripe', last4: '4242', brand: 'visa' });

    const second = await buyNow(tally, { customer, pack: 'stripe-pack' });
    expect(second.body).toMatchObject({ success: true, requiresCheckout: false, credits: 100, balance: 400 });
    const intent = calls.find((c) => c.method === 'POST' && c.path === '/v1/payment_intents')!;
    expect(intent.key).toBe(`tally_purchase_${second.body.reference}`);
    expect(intent.form.get('off_session')).toBe('true');
    expect(intent.form.get('payment_method')).toBe('pm_e2e_visa');
    expect(intent.form.get('customer')).toBe('cus_e2e');

    const refund = await tally.post(`/v1/purchases/${second.body.reference}/refund`);
    expect(refund.body).toMatchObject({ status: 'refunded', amount: 500, revokedCredits: 100, spentCredits: 0 });
    expect(calls.find((c) => c.path === '/v1/refunds')?.form.get('payment_intent')).toMatch(/^pi_off_/);

    // Stripe's echo of that refund changes nothing; a refund made in Stripe's dashboard and a dispute
    // revoke the unspent credits of their purchases, with no refund call from Tally.
    const hookOf = async (type: string, object: Record<string, unknown>) => {
      const body = JSON.stringify({ id: `evt_${randomUUID().replace(/-/g, '')}`, object: 'event', type, data: { object } });
      const sig = new Stripe('sk_test_signing').webhooks.generateTestHeaderString({ payload: body, secret: WEBHOOK_SECRET });
      const res = await tally.post('/v1/providers/stripe/webhook', body, { 'Stripe-Signature': sig });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    };
    await hookOf('charge.refunded', { id: 'ch_echo', object: 'charge', payment_intent: fake.intentOf(second.body.reference), amount_refunded: 500 });
    expect((await tally.get(`/v1/purchases/${second.body.reference}`)).body.refund).toMatchObject({ amount: 500, revokedCredits: 100 });

    const third = await buyNow(tally, { customer, pack: 'stripe-pack' });
    const fourth = await buyNow(tally, { customer, pack: 'stripe-pack' });
    // 300 credits before these two: starter's 100 + the first checkout's 200; + 200 = 500
    expect(await creditsOf(tally, customer)).toEqual({ balance: 500, addon: 400, plan: 100 });
    const refundCalls = calls.filter((c) => c.path === '/v1/refunds').length;
    await hookOf('charge.refunded', { id: 'ch_dash', object: 'charge', payment_intent: fake.intentOf(third.body.reference), amount_refunded: 500 });
    await hookOf('charge.dispute.created', { id: 'dp_e2e', object: 'dispute', payment_intent: fake.intentOf(fourth.body.reference), amount: 500 });
    for (const p of [third, fourth]) {
      expect((await tally.get(`/v1/purchases/${p.body.reference}`)).body).toMatchObject({ status: 'refunded', refund: { amount: 500, revokedCredits: 100, spentCredits: 0 } });
    }
    expect(await creditsOf(tally, customer)).toEqual({ balance: 300, addon: 200, plan: 100 });
    expect(calls.filter((c) => c.path === '/v1/refunds').length).toBe(refundCalls);
  });
});
