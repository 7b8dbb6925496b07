import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { CatalogRepo, CatalogService, TenantService } from '@tally/catalog';
import { syncBodySchema } from '@tally/contracts';
import { client, eventually } from './support/stack.ts';
import { startApp, type AppProcess } from './support/processes.ts';
import { SANDBOX_SECRET, billingTenant, catalog, creditsOf, db, ledgerRows, newCustomer, payOnPage, sign, type Api } from './billing.support.ts';

/**
 * Security findings in billing and payments, each over HTTP: webhooks that do
 * not pay for what they name, Stripe without its webhook secret, the caller's
 * currency at /v1/attach, callback URLs and headers of the sandbox pages, and
 * providers chosen by the tenant's environment.
 */
const started: AppProcess[] = [];
const tenants = new TenantService(db);

const awaitingOrDone = (api: Api, reference: string) =>
  eventually(async () => {
    const r = await api.get(`/v1/purchases/${reference}`);
    return r.body.status !== 'pending' ? r.body : null;
  }, 45_000);

const purchaseCount = async (tenantId: string) =>
  (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM purchases WHERE tenant_id = $1', [tenantId])).rows[0]!.n;

const subscriptionsTo = async (tenantId: string, customer: string, plan: string) =>
  (
    await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM subscriptions s JOIN plans p ON p.id = s.plan_id WHERE s.tenant_id = $1 AND s.customer_id = $2 AND p.slug = $3`,
      [tenantId, customer, plan],
    )
  ).rows[0]!.n;

/**
 * A live-environment tenant with the billing catalog, written straight through the catalog
 * service as a sync before the no-sandbox-for-live rule would have (POST /v1/sync now refuses
 * its sandbox pack: test/security-live-sandbox.e2e.test.ts).
 */
async function liveTenant(base?: string) {
  const created = await tenants.createTenant(`security-live-${Date.now()}`, 'live');
  const api = client(created.apiKey.secret, base);
  await new CatalogService(new CatalogRepo(db)).sync(created.tenantId, syncBodySchema.parse(catalog));
  return { tenantId: created.tenantId, api };
}

const PAGE_HEADERS = {
  'content-security-policy': expect.stringContaining("frame-ancestors 'none'"),
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
};
const headersOf = (res: Response) => Object.fromEntries(Object.keys(PAGE_HEADERS).map((h) => [h, res.headers.get(h)]));

describe('sandbox webhooks pay only for what they name', () => {
  it('a signed event pointing a cheap paid session (or its charge) at an expensive purchase grants nothing: 400 payment_mismatch', async () => {
    const { tenantId, api } = await billingTenant();
    const customer = await newCustomer(api);
    const cheap = await api.post('/v1/addon', { customer, pack: '500-ai-credits', quantity: 1 });
    expect((await payOnPage(cheap.body.checkoutUrl, '4242424242424242')).status).toBe(303);
    await eventually(async () => (await api.get(`/v1/purchases/${cheap.body.reference}`)).body.status === 'completed', 45_000);
    const dear = await api.post('/v1/addon', { customer, pack: '500-ai-credits', quantity: 100 });
    expect(dear.body).toMatchObject({ requiresCheckout: true, status: 'awaiting_payment' });

    const { rows } = await db.query<{ id: string; checkout_id: string }>('SELECT id, checkout_id FROM purchases WHERE tenant_id = $1', [tenantId]);
    const sessionOf = (reference: string) => rows.find((r) => r.id === reference)!.checkout_id;
    const cheapCharge = (
      await db.query<{ id: string }>('SELECT id FROM sandbox_charges WHERE tenant_id = $1 AND idempotency_key = $2', [tenantId, `session:${sessionOf(cheap.body.reference)}`])
    ).rows[0]!.id;
    const before = await creditsOf(api, customer);
    expect(before).toEqual({ balance: 600, addon: 500, plan: 100 });

    const send = (sessionId: string) => {
      const body = JSON.stringify({
        id: `evt_sbx_${randomUUID().replace(/-/g, '')}`,
        type: 'checkout.completed',
        created: Math.floor(Date.now() / 1000),
        data: { tenantId, sessionId, reference: dear.body.reference, chargeId: cheapCharge },
      });
      return api.post('/v1/providers/sandbox/webhook', body, { 'Sandbox-Signature': sign(SANDBOX_SECRET, body) });
    };
    // the cheap purchase's session and charge, relabelled; then the right session with the cheap session's charge
    for (const sessionId of [sessionOf(cheap.body.reference), sessionOf(dear.body.reference)]) {
      const hook = await send(sessionId);
      expect(hook.status).toBe(400);
      expect(hook.body.error).toMatchObject({ code: 'payment_mismatch', reference: dear.body.reference });
    }
    expect((await api.get(`/v1/purchases/${dear.body.reference}`)).body.status).toBe('awaiting_payment');
    expect(await ledgerRows(tenantId, dear.body.reference)).toBe(0);
    expect(await creditsOf(api, customer)).toEqual(before);

    // paying it for real still works, once
    expect((await payOnPage(dear.body.checkoutUrl, '4242424242424242')).status).toBe(303);
    await eventually(async () => (await api.get(`/v1/purchases/${dear.body.reference}`)).body.status === 'completed', 45_000);
    expect(await ledgerRows(tenantId, dear.body.reference)).toBe(1);
    expect(await creditsOf(api, customer)).toEqual({ balance: 50_600, addon: 50_500, plan: 100 });
  });
});

describe('/v1/attach sells a plan at the catalog price in the catalog currency', () => {
  it('another currency is 400 currency_mismatch and changes nothing; absent or the same (any case), the checkout is in USD', async () => {
    const { tenantId, api } = await billingTenant();
    const customer = await newCustomer(api);
    const vnd = await api.post('/v1/attach', { customer, product: 'pro', currency: 'VND' });
    expect(vnd.status).toBe(400);
    expect(vnd.body.error).toMatchObject({ code: 'currency_mismatch', plan: 'pro', currency: 'USD' });
    expect(vnd.body.error.message).toMatch(/USD, not VND/);
    expect(await subscriptionsTo(tenantId, customer, 'pro')).toBe(0);

    const same = await api.post('/v1/attach', { customer, product: 'pro', currency: 'usd' });
    expect(same.body).toMatchObject({ success: true, requiresCheckout: true });
    const page = await (await fetch(same.body.checkoutUrl)).text();
    expect(page).toContain('20.00 USD');

    const other = await newCustomer(api);
    const plain = await api.post('/v1/attach', { customer: other, product: 'pro' });
    const html = await (await fetch(plain.body.checkoutUrl)).text();
    expect(html).toContain('20.00 USD');
    expect((await payOnPage(plain.body.checkoutUrl, '4242424242424242')).status).toBe(303);
    await eventually(async () => (await api.get(`/v1/customers/${other}`)).body.subscription?.plan === 'pro', 30_000);
  });
});

describe('callback URLs and the sandbox pages', () => {
  it('a callbackUrl that is not https (nor loopback http in test) is 400 naming callbackUrl at /v1/addon, /v1/attach and /v1/wallet/setup, and nothing is recorded', async () => {
    const { tenantId, api } = await billingTenant();
    const customer = await newCustomer(api);
    for (const callbackUrl of ['javascript:alert(document.cookie)', 'data:text/html,<script>alert(1)</script>', 'http://app.example/thanks', 'ftp://app.example/']) {
      const addon = await api.post('/v1/addon', { customer, pack: '500-ai-credits', quantity: 1, callbackUrl });
      expect(addon.status, callbackUrl).toBe(400);
      expect(addon.body.error.issues, callbackUrl).toEqual([{ path: 'callbackUrl', message: expect.stringMatching(/https/) }]);
      const attach = await api.post('/v1/attach', { customer, product: 'pro', callbackUrl });
      expect(attach.status, callbackUrl).toBe(400);
      expect(attach.body.error.issues[0].path, callbackUrl).toBe('callbackUrl');
      const setup = await api.post('/v1/wallet/setup', { customer, callbackUrl });
      expect(setup.status, callbackUrl).toBe(400);
      expect(setup.body.error.issues[0].path, callbackUrl).toBe('callbackUrl');
    }
    expect(await purchaseCount(tenantId)).toBe(0);
    expect(await subscriptionsTo(tenantId, customer, 'pro')).toBe(0);
    expect((await db.query('SELECT 1 FROM wallet_setups WHERE tenant_id = $1', [tenantId])).rowCount).toBe(0);

    const ok = await api.post('/v1/addon', { customer, pack: '500-ai-credits', quantity: 1, callbackUrl: 'http://127.0.0.1:9/thanks' });
    expect(ok.body).toMatchObject({ success: true, requiresCheckout: true });
    const paid = await payOnPage(ok.body.checkoutUrl, '4242424242424242');
    expect(paid).toMatchObject({ status: 303, location: 'http://127.0.0.1:9/thanks' });
  });

  it('every page answer carries anti-framing, nosniff, no-store and no-referrer headers', async () => {
    const { api } = await billingTenant();
    const customer = await newCustomer(api);
    const res = await api.post('/v1/addon', { customer, pack: '500-ai-credits', quantity: 1, callbackUrl: 'https://app.example/thanks' });
    const url: string = res.body.checkoutUrl;
    const page = await fetch(url);
    expect(page.status).toBe(200);
    const declined = await fetch(url, { method: 'POST', body: new URLSearchParams({ cardNumber: '4000000000000002' }), redirect: 'manual' });
    expect(declined.status).toBe(402);
    const missing = await fetch(url.replace(/[0-9a-f]{24}$/, '0'.repeat(24)));
    expect(missing.status).toBe(404);
    const back = await fetch(`${new URL(url).origin}/v1/sandbox/return?reference=x`);
    expect(back.status).toBe(200);
    const paid = await fetch(url, { method: 'POST', body: new URLSearchParams({ cardNumber: '4242424242424242' }), redirect: 'manual' });
    expect(paid.status).toBe(303);
    for (const answer of [page, declined, missing, back, paid]) expect(headersOf(answer), answer.url).toEqual(PAGE_HEADERS);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  });
});

describe('providers by tenant environment (shared stack: sandbox only)', () => {
  it('a live tenant cannot sell through the sandbox, which takes no real money: 400 provider_not_configured naming live', async () => {
    const { tenantId, api } = await liveTenant();
    const customer = await newCustomer(api);
    const res = await api.post('/v1/addon', { customer, pack: '500-ai-credits', quantity: 1 });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'provider_not_configured', provider: 'sandbox', environment: 'live' });
    expect(res.body.error.message).toMatch(/not configured for live tenants/);
    expect(await purchaseCount(tenantId)).toBe(0);
  });
});

/** Stripe's API as a local server (STRIPE_API_BASE): sessions it opened, and PaymentIntents the test defines. */
const sessions: Array<{ id: string; form: URLSearchParams }> = [];
const intents = new Map<string, Record<string, unknown>>();
const fake = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const url = new URL(req.url ?? '/', 'http://x');
    const route = `${req.method} ${url.pathname}`;
    let out: [number, unknown] = [404, { error: { type: 'invalid_request_error', message: route } }];
    if (route === 'POST /v1/customers') out = [200, { id: 'cus_sec', object: 'customer' }];
    if (route === 'POST /v1/checkout/sessions') {
      const id = `cs_sec_${sessions.length + 1}_${randomUUID().slice(0, 8)}`;
      sessions.push({ id, form: new URLSearchParams(body) });
      out = [200, { id, object: 'checkout.session', url: `https://checkout.stripe.com/c/pay/${id}` }];
    }
    const intent = url.pathname.startsWith('/v1/payment_intents/') ? intents.get(url.pathname.slice('/v1/payment_intents/'.length)) : undefined;
    if (req.method === 'GET' && intent) out = [200, intent];
    res.writeHead(out[0], { 'Content-Type': 'application/json' }).end(JSON.stringify(out[1]));
  });
});
const WEBHOOK_SECRET = 'whsec_security_e2e';
const signer = new Stripe('sk_test_signing_only');

afterAll(async () => {
  for (const app of started.reverse()) await app.stop();
  if (fake.listening) await new Promise<void>((r) => fake.close(() => r()));
  await db.end();
});

async function stripeEnv(secretKey: string, redisDb: number) {
  if (!fake.listening) {
    fake.listen(0, '127.0.0.1');
    await once(fake, 'listening');
  }
  const { PUBLIC_URL: _shared, ...stackEnv } = inject('stackEnv');
  return {
    ...stackEnv,
    REDIS_URL: `redis://127.0.0.1:6379/${redisDb}`,
    KAFKA_CONSUMER_GROUP: `${stackEnv.KAFKA_CONSUMER_GROUP}-security-billing`,
    STRIPE_SECRET_KEY: secretKey,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_BASE: `http://127.0.0.1:${(fake.address() as AddressInfo).port}`,
  };
}

describe('Stripe secrets at start-up', () => {
  it('the API and the workers refuse to start with STRIPE_SECRET_KEY but no STRIPE_WEBHOOK_SECRET, naming it and printing no secret', async () => {
    const env = { ...(await stripeEnv('sk_test_StartupSecretNeverPrinted', 8)), STRIPE_WEBHOOK_SECRET: '' };
    for (const app of ['api', 'workers'] as const) {
      let error: Error | undefined;
      try {
        started.push(await startApp(app, env, 30_000));
      } catch (err) {
        error = err as Error;
      }
      expect(error?.message, app).toMatch(/exited with 1/);
      expect(error?.message, app).toMatch(/STRIPE_WEBHOOK_SECRET: is required when STRIPE_SECRET_KEY is set/);
      expect(error?.message, app).not.toContain('StartupSecretNeverPrinted');
    }
  });
});

describe('Stripe webhooks pay only for what they name (own API and workers, test key)', () => {
  it('a Payment Link session, a short amount or another currency naming the purchase grants nothing; the real session does', { timeout: 180_000 }, async () => {
    const env = await stripeEnv('sk_test_security_e2e', 7);
    const apiApp = await startApp('api', env);
    started.push(apiApp);
    started.push(await startApp('workers', { ...env, PUBLIC_URL: apiApp.url }));

    const { tenantId, api } = await billingTenant(apiApp.url);
    const customer = 'stripe-sec-buyer';
    await api.post('/v1/customers', { id: customer, email: 'sec@example.test' });
    await api.post('/v1/attach', { customer, product: 'starter' });
    const first = await api.post('/v1/addon', { customer, pack: 'stripe-pack', quantity: 2 });
    const reference: string = first.body.reference;
    const purchase = await awaitingOrDone(api, reference);
    expect(purchase.status).toBe('awaiting_payment');
    const session = sessions.find((s) => s.form.get('client_reference_id') === reference)!;

    const ours = { tally_reference: reference, tally_tenant: tenantId };
    const intent = (id: string, amount: number, currency: string, metadata: Record<string, string>) =>
      intents.set(id, { id, object: 'payment_intent', status: 'succeeded', amount, amount_received: amount, currency, customer: 'cus_sec', metadata, payment_method: null });
    intent(`pi_link_${reference}`, 100, 'usd', {}); // a Payment Link anyone can open, with ?client_reference_id=<reference>
    intent(`pi_short_${reference}`, 999, 'usd', ours);
    intent(`pi_vnd_${reference}`, 1000, 'vnd', ours);
    intent(`pi_ok_${reference}`, 1000, 'usd', ours);
    const webhook = (sessionId: string, intentId: string) => {
      const payload = JSON.stringify({
        id: `evt_${randomUUID().replace(/-/g, '')}`,
        object: 'event',
        type: 'checkout.session.completed',
        data: { object: { id: sessionId, object: 'checkout.session', mode: 'payment', payment_status: 'paid', client_reference_id: reference, payment_intent: intentId } },
      });
      return api.post('/v1/providers/stripe/webhook', payload, { 'Stripe-Signature': signer.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET }) });
    };

    const refused = [
      [`cs_link_${reference}`, `pi_link_${reference}`, /checkout session cs_link_.* is not the one Tally opened/],
      [session.id, `pi_short_${reference}`, /amount paid 999 is not the 1000 asked/],
      [session.id, `pi_vnd_${reference}`, /currency paid VND is not USD/],
    ] as const;
    for (const [sessionId, intentId, why] of refused) {
      const hook = await webhook(sessionId, intentId);
      expect(hook.status, intentId).toBe(400);
      expect(hook.body.error, intentId).toMatchObject({ code: 'payment_mismatch', reference, message: expect.stringMatching(why) });
    }
    expect((await api.get(`/v1/purchases/${reference}`)).body.status).toBe('awaiting_payment');
    expect(await ledgerRows(tenantId, reference)).toBe(0);
    expect(await creditsOf(api, customer)).toEqual({ balance: 100, addon: 0, plan: 100 });

    const paid = await webhook(session.id, `pi_ok_${reference}`);
    expect(paid.status).toBe(200);
    await eventually(async () => (await api.get(`/v1/purchases/${reference}`)).body.status === 'completed');
    expect(await creditsOf(api, customer)).toEqual({ balance: 300, addon: 200, plan: 100 });

    // the same deployment's test key is not for live tenants
    const live = await liveTenant(apiApp.url);
    const liveBuyer = await newCustomer(live.api);
    const refusedLive = await live.api.post('/v1/addon', { customer: liveBuyer, pack: 'stripe-pack', quantity: 1 });
    expect(refusedLive.status).toBe(400);
    expect(refusedLive.body.error).toMatchObject({ code: 'provider_not_configured', provider: 'stripe', environment: 'live' });
    expect(await purchaseCount(live.tenantId)).toBe(0);
  });
});

describe('a live Stripe key is never used for a test tenant (own API)', () => {
  it('addon answers 400 provider_not_configured naming test, and records nothing', { timeout: 120_000 }, async () => {
    const env = await stripeEnv('sk_live_security_e2e', 8);
    const apiApp = await startApp('api', env);
    started.push(apiApp);
    const { tenantId, api } = await billingTenant(apiApp.url);
    const customer = await newCustomer(api);
    const res = await api.post('/v1/addon', { customer, pack: 'stripe-pack', quantity: 1 });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'provider_not_configured', provider: 'stripe', environment: 'test' });
    expect(res.body.error.message).toMatch(/not configured for test tenants/);
    expect(await purchaseCount(tenantId)).toBe(0);
    expect(sessions.filter((s) => s.form.get('metadata[tally_tenant]') === tenantId)).toEqual([]);
  });
});
