/**
 * A tenant's own Stripe account: its keys (sealed at rest) are used for its checkouts, its webhooks arrive
 * at its own URL verified with its own signing secret, and an event there never touches another tenant.
 * Stripe's API is a local server answering its documented shapes (STRIPE_API_BASE); the deployment itself
 * has no Stripe key. Own API and workers on their own Redis database (the shared workers have no Stripe).
 */
import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually } from './support/stack.ts';
import { fakeStripe } from './support/fake-stripe.ts';
import { startApp, type AppProcess } from './support/processes.ts';
import { billingTenant, creditsOf, db } from './billing.support.ts';

const A_KEY = `sk_test_ownA${randomUUID().replace(/-/g, '').slice(0, 16)}`;
const A_HOOK = `whsec_ownA${randomUUID().replace(/-/g, '').slice(0, 16)}`;
const B_KEY = `sk_test_ownB${randomUUID().replace(/-/g, '').slice(0, 16)}`;
const B_HOOK = `whsec_ownB${randomUUID().replace(/-/g, '').slice(0, 16)}`;
let fake: Awaited<ReturnType<typeof fakeStripe>>;

const started: AppProcess[] = [];
let apiUrl = '';
beforeAll(async () => {
  fake = await fakeStripe();
  const { PUBLIC_URL: _shared, STRIPE_SECRET_KEY: _k, STRIPE_WEBHOOK_SECRET: _w, ...stackEnv } = inject('stackEnv');
  const env = {
    ...stackEnv,
    REDIS_URL: 'redis://127.0.0.1:6379/8',
    KAFKA_CONSUMER_GROUP: `${stackEnv.KAFKA_CONSUMER_GROUP}-stripe-own`,
    STRIPE_API_BASE: fake.url,
  };
  const api = await startApp('api', env);
  started.push(api);
  started.push(await startApp('workers', { ...env, PUBLIC_URL: api.url }));
  apiUrl = api.url;
}, 120_000);

afterAll(async () => {
  for (const app of started.reverse()) await app.stop();
  await fake?.close();
});

const signed = (secret: string, type: string, object: Record<string, unknown>) => {
  const payload = JSON.stringify({ id: `evt_${randomUUID().replace(/-/g, '')}`, object: 'event', type, data: { object } });
  return { payload, headers: { 'Stripe-Signature': new Stripe('sk_test_signing').webhooks.generateTestHeaderString({ payload, secret }) } };
};

describe("a tenant's own Stripe account", () => {
  it('keys are refused when malformed or of the other environment, sealed at rest, and never answered back', async () => {
    const { api, tenantId } = await billingTenant(apiUrl);
    expect((await api.get('/v1/providers/stripe/credentials')).body).toMatchObject({ configured: false, keyHint: null });
    for (const [body, field] of [
      [{ secretKey: 'sk_live_abcdefgh1234', webhookSecret: A_HOOK }, 'secretKey'],
      [{ secretKey: 'pk_test_abcdefgh1234', webhookSecret: A_HOOK }, 'secretKey'],
      [{ secretKey: A_KEY, webhookSecret: 'nope' }, 'webhookSecret'],
    ] as const) {
      const res = await api.put('/v1/providers/stripe/credentials', body);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(JSON.stringify(res.body.error)).toContain(field);
    }
    const put = await api.put('/v1/providers/stripe/credentials', { secretKey: A_KEY, webhookSecret: A_HOOK });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({ configured: true, keyHint: `sk_test_…${A_KEY.slice(-4)}`, webhookUrl: `${apiUrl.replace(/\/$/, '')}/v1/providers/stripe/webhook/${tenantId}` });
    const got = await api.get('/v1/providers/stripe/credentials');
    expect(JSON.stringify(got.body)).not.toContain(A_KEY.slice(8));
    const { rows } = await db.query('SELECT secret_key_sealed, webhook_sealed FROM tenant_provider_credentials WHERE tenant_id = $1', [tenantId]);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows[0])).not.toContain(A_KEY.slice(8));
    expect(JSON.stringify(rows[0])).not.toContain(A_HOOK.slice(6));
    expect((await api.del('/v1/providers/stripe/credentials')).status).toBe(200);
    expect((await api.get('/v1/providers/stripe/credentials')).body.configured).toBe(false);
    expect((await api.del('/v1/providers/stripe/credentials')).status).toBe(404);
  });

  it("checkouts use the tenant's key; its webhook URL takes only its own signing secret and only its own purchases", async () => {
    const a = await billingTenant(apiUrl);
    const b = await billingTenant(apiUrl);
    // without keys of its own (and none in the deployment) a Stripe pack cannot be bought
    await a.api.post('/v1/customers', { id: 'own-buyer', email: 'own@example.test' });
    expect((await a.api.post('/v1/addon', { customer: 'own-buyer', pack: 'stripe-pack' })).body.error.code).toBe('provider_not_configured');
    expect((await a.api.put('/v1/providers/stripe/credentials', { secretKey: A_KEY, webhookSecret: A_HOOK })).status).toBe(200);
    expect((await b.api.put('/v1/providers/stripe/credentials', { secretKey: B_KEY, webhookSecret: B_HOOK })).status).toBe(200);

    const addon = await a.api.post('/v1/addon', { customer: 'own-buyer', pack: 'stripe-pack' });
    expect(addon.body, JSON.stringify(addon.body)).toMatchObject({ success: true, requiresCheckout: true });
    const session = fake.calls.findLast((c) => c.path === '/v1/checkout/sessions')!;
    expect(session.auth).toBe(`Bearer ${A_KEY}`);
    const completed = (pi: string) => ({
      id: addon.body.checkoutUrl.split('/').pop(), object: 'checkout.session', mode: 'payment', payment_status: 'paid',
      client_reference_id: addon.body.reference, payment_intent: pi,
    });
    const hookA = `/v1/providers/stripe/webhook/${a.tenantId}`;

    // B signs with its own secret, at its own URL, an event naming A's purchase: nothing happens to A
    const forged = signed(B_HOOK, 'checkout.session.completed', completed('pi_own_forged'));
    expect((await b.api.post(`/v1/providers/stripe/webhook/${b.tenantId}`, forged.payload, forged.headers)).status).toBe(200);
    // ... and B's secret at A's URL is refused outright
    const wrongSecret = signed(B_HOOK, 'checkout.session.completed', completed('pi_own_forged2'));
    expect((await a.api.post(hookA, wrongSecret.payload, wrongSecret.headers)).status).toBe(400);
    expect((await a.api.get(`/v1/purchases/${addon.body.reference}`)).body.status).toBe('awaiting_payment');

    const real = signed(A_HOOK, 'checkout.session.completed', completed('pi_own_real'));
    expect((await a.api.post(hookA, real.payload, real.headers)).status).toBe(200);
    await eventually(async () => (await a.api.get(`/v1/purchases/${addon.body.reference}`)).body.status === 'completed', 30_000);
    expect(await creditsOf(a.api, 'own-buyer')).toMatchObject({ addon: 100 });
    // the payment was checked against A's account, with A's key
    expect(fake.calls.find((c) => c.path === '/v1/payment_intents/pi_own_real')?.auth).toBe(`Bearer ${A_KEY}`);
    // B's event was read from B's account only (parsing it fetches the payment with the verifying key)
    for (const c of fake.calls.filter((c) => c.path === '/v1/payment_intents/pi_own_forged')) expect(c.auth).toBe(`Bearer ${B_KEY}`);
  });
});
