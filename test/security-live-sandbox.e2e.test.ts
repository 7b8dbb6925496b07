/**
 * No free credits: the sandbox takes no real money, so a live tenant can never
 * sell through it — not at sync (400 naming each pack and paid plan on it,
 * whether by name or by default), not at addon / attach / wallet setup, not on
 * a sandbox page or webhook for a purchase that exists anyway. And outside
 * development the sandbox's published webhook secret cannot be used: a
 * production process refuses to start with it, and a webhook forged with it
 * grants nothing.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { CatalogRepo, CatalogService, TenantService } from '@tally/catalog';
import { syncBodySchema } from '@tally/contracts';
import { SANDBOX_SECRET, billingTenant, catalog, db, ledgerRows, newCustomer, sign, type Api } from './billing.support.ts';
import { startApp, type AppProcess } from './support/processes.ts';
import { client } from './support/stack.ts';

const tenants = new TenantService(db);
const started: AppProcess[] = [];

afterAll(async () => {
  for (const app of started.reverse()) await app.stop();
  await db.end();
});

const count = async (sql: string, params: unknown[]) => (await db.query<{ n: number }>(sql, params)).rows[0]!.n;
const purchasesOf = (tenantId: string) => count('SELECT count(*)::int AS n FROM purchases WHERE tenant_id = $1', [tenantId]);
const grantsOf = (tenantId: string) => count('SELECT count(*)::int AS n FROM credit_grants WHERE tenant_id = $1', [tenantId]);
const chargesOf = (tenantId: string) => count('SELECT count(*)::int AS n FROM sandbox_charges WHERE tenant_id = $1', [tenantId]);
const packsOf = (tenantId: string) => count('SELECT count(*)::int AS n FROM credit_packs WHERE tenant_id = $1', [tenantId]);

async function newLive(name = 'live-sandbox') {
  const created = await tenants.createTenant(`${name}-${Date.now()}`, 'live');
  return { tenantId: created.tenantId, api: client(created.apiKey.secret) };
}

/** A catalog of one free plan, one paid plan and one pack, with the providers given. */
const shop = (opts: { defaultProvider?: string; packProvider?: string; planProvider?: string; dryRun?: boolean }) => ({
  ...(opts.defaultProvider ? { defaultProvider: opts.defaultProvider } : {}),
  ...(opts.dryRun ? { dryRun: true } : {}),
  features: [{ slug: 'gpt-4', type: 'metered', name: 'GPT-4' }],
  creditSystems: [{ slug: 'ai-credits', name: 'AI Credits', features: [{ feature: 'gpt-4', creditCost: 20 }] }],
  creditPacks: [
    { slug: 'live-pack', name: 'Live pack', credits: 1000, price: 1000, currency: 'USD', creditSystem: 'ai-credits', ...(opts.packProvider ? { provider: opts.packProvider } : {}) },
  ],
  plans: [
    { slug: 'free', name: 'Free', price: 0, currency: 'USD', interval: 'monthly', features: [{ slug: 'gpt-4', enabled: true }] },
    { slug: 'paid', name: 'Paid', price: 2000, currency: 'USD', interval: 'monthly', features: [{ slug: 'gpt-4', enabled: true }], ...(opts.planProvider ? { provider: opts.planProvider } : {}) },
  ],
});

const expectSandboxRefusal = (res: { status: number; body: any }, creditPacks: string[], plans: string[]) => {
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.body.error).toMatchObject({ code: 'provider_not_configured', provider: 'sandbox', environment: 'live', creditPacks, plans });
  for (const slug of creditPacks) expect(res.body.error.message).toContain(`credit pack "${slug}"`);
  for (const slug of plans) expect(res.body.error.message).toContain(`plan "${slug}"`);
  expect(res.body.error.message).not.toContain('plan "free"');
};

describe('sync: a live tenant cannot put anything for sale on the sandbox', () => {
  it('refuses with 400 naming each pack and paid plan on it — by default, by defaultProvider or by name, dry run too — and writes nothing', async () => {
    const { tenantId, api } = await newLive();
    // no provider anywhere: the tenant's default, "sandbox"
    expectSandboxRefusal(await api.post('/v1/sync', shop({})), ['live-pack'], ['paid']);
    expectSandboxRefusal(await api.post('/v1/sync', shop({ dryRun: true })), ['live-pack'], ['paid']);
    expectSandboxRefusal(await api.post('/v1/sync?dryRun=true', shop({})), ['live-pack'], ['paid']);
    expectSandboxRefusal(await api.post('/v1/sync', shop({ defaultProvider: 'sandbox' })), ['live-pack'], ['paid']);
    // a live default, but the pack (or the plan) names the sandbox itself
    expectSandboxRefusal(await api.post('/v1/sync', shop({ defaultProvider: 'stripe', packProvider: 'sandbox' })), ['live-pack'], []);
    expectSandboxRefusal(await api.post('/v1/sync', shop({ defaultProvider: 'stripe', planProvider: 'sandbox' })), [], ['paid']);
    expect(await packsOf(tenantId)).toBe(0);
    expect((await api.get('/v1/plans')).body.plans).toEqual([]);
    expect((await db.query('SELECT default_provider FROM tenants WHERE id = $1', [tenantId])).rows[0].default_provider).toBe('sandbox');

    // a catalog with nothing on the sandbox syncs (Stripe is not configured here: a warning, not a refusal)
    const free = await api.post('/v1/sync', { ...shop({}), creditPacks: [], plans: shop({}).plans.slice(0, 1) });
    expect(free.status, JSON.stringify(free.body)).toBe(200);
    const onStripe = await api.post('/v1/sync', shop({ defaultProvider: 'stripe' }));
    expect(onStripe.status, JSON.stringify(onStripe.body)).toBe(200);
    expect(onStripe.body.warnings.join('\n')).not.toContain('sandbox');
    // the stored default is now stripe: a pack without a provider is no longer on the sandbox
    expect((await api.post('/v1/sync', shop({}))).status).toBe(200);
    expect(await packsOf(tenantId)).toBe(1);
  });

  it('a test tenant syncs the same catalog on the sandbox', async () => {
    const tenant = await tenants.createTenant(`test-sandbox-${Date.now()}`);
    const res = await client(tenant.apiKey.secret).post('/v1/sync', shop({}));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.warnings).toEqual([]);
  });
});

/** A live tenant whose sandbox catalog was written before the rule (straight through the catalog service). */
async function liveWithOldCatalog() {
  const live = await newLive('live-old-catalog');
  await new CatalogService(new CatalogRepo(db)).sync(live.tenantId, syncBodySchema.parse(catalog));
  return live;
}

describe('a live tenant with a sandbox catalog from before the rule', () => {
  it('addon, paid attach and wallet setup answer 400 provider_not_configured naming sandbox and live, and record nothing', async () => {
    const { tenantId, api } = await liveWithOldCatalog();
    const customer = await newCustomer(api);
    const addon = await api.post('/v1/addon', { customer, pack: '500-ai-credits', quantity: 1 });
    const attach = await api.post('/v1/attach', { customer, product: 'pro' });
    const setup = await api.post('/v1/wallet/setup', { customer });
    for (const res of [addon, attach, setup]) {
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'provider_not_configured', provider: 'sandbox', environment: 'live' });
    }
    expect(await purchasesOf(tenantId)).toBe(0);
    expect(await count('SELECT count(*)::int AS n FROM sandbox_sessions WHERE tenant_id = $1', [tenantId])).toBe(0);
    expect(await grantsOf(tenantId)).toBe(0);
  });

  it('a purchase and sandbox session that exist anyway: the page refuses (403), paying charges nothing, a webhook grants nothing', async () => {
    // the template: a real awaiting-payment purchase of a test tenant
    const shopTenant = await billingTenant();
    const buyer = await newCustomer(shopTenant.api);
    const template = await shopTenant.api.post('/v1/addon', { customer: buyer, pack: '500-ai-credits', quantity: 1 });
    expect(template.body).toMatchObject({ requiresCheckout: true, status: 'awaiting_payment' });

    const live = await liveWithOldCatalog();
    const customer = await newCustomer(live.api);
    const pack = (await db.query<{ id: string }>("SELECT id FROM credit_packs WHERE tenant_id = $1 AND slug = '500-ai-credits'", [live.tenantId])).rows[0]!;
    const reference = randomUUID();
    const sessionId = `cs_sbx_${randomBytes(12).toString('hex')}`;
    // "by any path": the same row as the template's, moved to the live tenant (whatever columns purchases has)
    await db.query(
      `INSERT INTO purchases
       SELECT (jsonb_populate_record(NULL::purchases, to_jsonb(p) || jsonb_build_object(
                 'id', $2::text, 'tenant_id', $3::text, 'customer_id', $4::text, 'pack_id', $5::text,
                 'idempotency_key', NULL, 'checkout_id', $6::text, 'checkout_url', NULL))).*
         FROM purchases p WHERE p.id = $1`,
      [template.body.reference, reference, live.tenantId, customer, pack.id, sessionId],
    );
    await db.query(
      `INSERT INTO sandbox_sessions (id, tenant_id, mode, reference, customer_ref, description, quantity, amount_minor, currency, success_url, cancel_url)
       VALUES ($1, $2, 'payment', $3, $4, '1 × 500 AI Credits', 1, 1000, 'USD', NULL, NULL)`,
      [sessionId, live.tenantId, reference, `sbx_cus_${customer}`],
    );
    expect((await live.api.get(`/v1/purchases/${reference}`)).body.status).toBe('awaiting_payment');

    const pageUrl = `${inject('apiUrl')}/v1/sandbox/checkout/${sessionId}`;
    const page = await fetch(pageUrl);
    expect(page.status).toBe(403);
    expect(await page.text()).toContain('cannot be used to pay a live merchant');
    const paid = await fetch(pageUrl, { method: 'POST', body: new URLSearchParams({ cardNumber: '4242424242424242' }), redirect: 'manual' });
    expect(paid.status).toBe(403);
    expect(await chargesOf(live.tenantId)).toBe(0);
    expect((await db.query('SELECT status FROM sandbox_sessions WHERE id = $1', [sessionId])).rows[0].status).toBe('open');

    // a correctly signed sandbox event (this stack's secret) naming the live purchase
    const body = JSON.stringify({
      id: `evt_sbx_${randomBytes(12).toString('hex')}`,
      type: 'checkout.completed',
      created: Math.floor(Date.now() / 1000),
      data: { tenantId: live.tenantId, sessionId, reference, chargeId: `ch_sbx_${randomBytes(12).toString('hex')}` },
    });
    const hook = await live.api.post('/v1/providers/sandbox/webhook', body, { 'Sandbox-Signature': sign(SANDBOX_SECRET, body) });
    expect(hook.status, JSON.stringify(hook.body)).toBe(400);
    expect(hook.body.error).toMatchObject({ code: 'provider_not_configured', provider: 'sandbox', environment: 'live' });
    expect((await live.api.get(`/v1/purchases/${reference}`)).body.status).toBe('awaiting_payment');
    expect(await ledgerRows(live.tenantId, reference)).toBe(0);
    expect(await grantsOf(live.tenantId)).toBe(0);
  });
});

/** The shared stack's env for processes of this suite's own, with its own consumer group (and without the test stack's private webhook targets). */
const ownEnv = (extra: Record<string, string>) => {
  const { PUBLIC_URL: _shared, WEBHOOK_ALLOW_PRIVATE_TARGETS: _private, ...stackEnv } = inject('stackEnv');
  // production also asks for its own CREDENTIALS_KEY and a ClickHouse password: each case here is about one other
  // variable (the local ClickHouse has none, so these processes are started ready at /healthz, not /readyz)
  const credentials = extra.NODE_ENV === 'production' ? { CREDENTIALS_KEY: randomBytes(32).toString('hex'), CLICKHOUSE_PASSWORD: 'own-clickhouse-password' } : {};
  return { ...stackEnv, KAFKA_CONSUMER_GROUP: `${stackEnv.KAFKA_CONSUMER_GROUP}-live-sandbox`, ...credentials, ...extra };
};

async function startRefused(app: 'api' | 'workers', env: Record<string, string>): Promise<string> {
  try {
    started.push(await startApp(app, env, 30_000, '/healthz'));
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`${app} started with ${JSON.stringify(env.SANDBOX_WEBHOOK_SECRET ?? '(unset)')} in production`);
}

describe('the published sandbox secret outside development', () => {
  it('NODE_ENV=production: the API and the workers exit 1 naming SANDBOX_WEBHOOK_SECRET, unset or set to the default', { timeout: 120_000 }, async () => {
    for (const secret of [undefined, SANDBOX_SECRET]) {
      const env = ownEnv({ NODE_ENV: 'production', ...(secret ? { SANDBOX_WEBHOOK_SECRET: secret } : {}) });
      for (const app of ['api', 'workers'] as const) {
        const message = await startRefused(app, env);
        expect(message, app).toMatch(/exited with 1/);
        expect(message, app).toMatch(/SANDBOX_WEBHOOK_SECRET: is unset or the public development default/);
        expect(message, app).not.toContain(SANDBOX_SECRET);
      }
    }
  });

  it('NODE_ENV=production: the API and the workers exit 1 naming WEBHOOK_ALLOW_PRIVATE_TARGETS when it is set', { timeout: 120_000 }, async () => {
    const env = ownEnv({ NODE_ENV: 'production', SANDBOX_WEBHOOK_SECRET: 'whsec_own_production_secret_0123', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
    for (const app of ['api', 'workers'] as const) {
      const message = await startRefused(app, env);
      expect(message, app).toMatch(/exited with 1/);
      expect(message, app).toMatch(/WEBHOOK_ALLOW_PRIVATE_TARGETS: is for the test stack only/);
    }
  });

  it('NODE_ENV=production: the API and the workers exit 1 naming CLICKHOUSE_PASSWORD when it is unset or empty', { timeout: 120_000 }, async () => {
    const { CLICKHOUSE_PASSWORD: _own, ...unset } = ownEnv({ NODE_ENV: 'production', SANDBOX_WEBHOOK_SECRET: 'whsec_own_production_secret_0123' });
    for (const env of [unset, { ...unset, CLICKHOUSE_PASSWORD: '' }]) {
      for (const app of ['api', 'workers'] as const) {
        const message = await startRefused(app, env);
        expect(message, app).toMatch(/exited with 1/);
        expect(message, app).toMatch(/CLICKHOUSE_PASSWORD: is unset or empty/);
      }
    }
  });

  it('a webhook forged with the default secret grants nothing in production: sandbox off (400 provider_not_configured), or on with its own secret (400 invalid_signature)', { timeout: 120_000 }, async () => {
    // a real purchase awaiting payment on the shared (test-mode) stack, and the event that would pay it
    const { tenantId, api } = await billingTenant();
    const customer = await newCustomer(api);
    const buy = await api.post('/v1/addon', { customer, pack: '500-ai-credits', quantity: 1 });
    expect(buy.body.status).toBe('awaiting_payment');
    const session = (await db.query<{ checkout_id: string }>('SELECT checkout_id FROM purchases WHERE id = $1', [buy.body.reference])).rows[0]!.checkout_id;
    const forged = JSON.stringify({
      id: `evt_sbx_${randomBytes(12).toString('hex')}`,
      type: 'checkout.completed',
      created: Math.floor(Date.now() / 1000),
      data: { tenantId, sessionId: session, reference: buy.body.reference, chargeId: `ch_sbx_${randomBytes(12).toString('hex')}` },
    });
    const send = (base: string, secret = SANDBOX_SECRET) =>
      fetch(`${base}/v1/providers/sandbox/webhook`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Sandbox-Signature': sign(secret, forged) }, body: forged });

    const OWN = `whsec_${randomBytes(18).toString('hex')}`;
    const off = await startApp('api', ownEnv({ NODE_ENV: 'production', SANDBOX_WEBHOOK_SECRET: OWN }), 60_000, '/healthz');
    started.push(off);
    const refusedOff = await send(off.url);
    expect(refusedOff.status).toBe(400);
    expect((await refusedOff.json()).error).toMatchObject({ code: 'provider_not_configured', provider: 'sandbox' });
    expect((await fetch(`${off.url}/v1/sandbox/checkout/${session}`)).status).toBe(404);

    const on = await startApp('api', ownEnv({ NODE_ENV: 'production', SANDBOX_PROVIDER: 'enabled', SANDBOX_WEBHOOK_SECRET: OWN }), 60_000, '/healthz');
    started.push(on);
    const refusedOn = await send(on.url);
    expect(refusedOn.status).toBe(400);
    expect((await refusedOn.json()).error.code).toBe('invalid_signature');
    // the same event signed with that deployment's own secret is read (then refused: no charge behind it)
    const ownSigned = await send(on.url, OWN);
    expect((await ownSigned.json()).error?.code).toBe('payment_mismatch');

    expect((await api.get(`/v1/purchases/${buy.body.reference}`)).body.status).toBe('awaiting_payment');
    expect(await ledgerRows(tenantId, buy.body.reference)).toBe(0);
  });
});

export type { Api };
