import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TenantService } from '@tally/catalog';
import { eventually } from './support/stack.ts';
import { startApp, type AppProcess } from './support/processes.ts';
import { SANDBOX_SECRET, billingTenant, creditsOf, db, ledgerRows, newCustomer, payOnPage, sign, webhookReceiver } from './billing.support.ts';

const EXPIRY_SECONDS = 2;
const started: AppProcess[] = [];
afterAll(async () => {
  for (const app of started) await app.stop('SIGKILL');
  await db.end();
});

async function ownApp(app: 'api' | 'workers', env: Record<string, string>) {
  const p = await startApp(app, { ...inject('stackEnv'), PURCHASE_EXPIRY_SECONDS: String(EXPIRY_SECONDS), ...env }, 60_000);
  started.push(p);
  return p;
}

let apiUrl = '';
beforeAll(async () => {
  const apiApp = await ownApp('api', {});
  await ownApp('workers', { PUBLIC_URL: apiApp.url });
  apiUrl = apiApp.url;
}, 120_000);

describe('a purchase awaiting payment expires (PURCHASE_EXPIRY_SECONDS)', () => {
  it('answers expired, its page says so and takes no payment, a late webhook grants nothing, the same key answers it', { timeout: 120_000 }, async () => {
    const { tenantId, api } = await billingTenant(apiUrl);
    const customer = await newCustomer(api);
    const hooks = await webhookReceiver();
    expect((await api.post('/v1/webhooks/endpoints', { url: hooks.url })).status).toBeLessThan(300);
    // Starter plan: 100 credits, no add-on credits (the catalog in billing.support.ts).
    const before = { balance: 100, addon: 0, plan: 100 };
    expect(await creditsOf(api, customer)).toEqual(before);

    const key = randomUUID();
    const res = await api.post('/v1/addon', { customer, pack: '500-ai-credits', quantity: 1 }, { 'Idempotency-Key': key });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ requiresCheckout: true, status: 'awaiting_payment' });
    const { reference, checkoutUrl } = res.body as { reference: string; checkoutUrl: string };
    expect((await fetch(checkoutUrl)).status).toBe(200);

    await sleep(EXPIRY_SECONDS * 1000 + 300);
    // Between sweeps (every 30 s): the read itself expires it.
    const view = await api.get(`/v1/purchases/${reference}`);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ status: 'expired', failure: { code: 'purchase_expired' } });

    const page = await fetch(checkoutUrl);
    const html = await page.text();
    expect(page.status).toBe(410);
    expect(html).toContain('expired');
    expect(html).not.toContain('<form');

    const paid = await payOnPage(checkoutUrl, '4242424242424242');
    expect(paid.status).toBe(410);
    const { rows: charges } = await db.query('SELECT count(*)::int AS n FROM sandbox_charges WHERE tenant_id = $1', [tenantId]);
    expect(charges[0].n).toBe(0);

    // A payment notice arriving late (the buyer paid at the provider just before): recorded, refused, nothing granted.
    const sessionId = checkoutUrl.split('/').pop();
    const event = {
      id: `evt_sbx_${randomUUID().replace(/-/g, '').slice(0, 24)}`,
      type: 'checkout.completed',
      created: Math.floor(Date.now() / 1000),
      data: { tenantId, sessionId, reference, chargeId: `ch_sbx_${randomUUID().replace(/-/g, '').slice(0, 24)}` },
    };
    // What the sandbox records when the buyer paid there (the charge the webhook names).
    await db.query(
      `INSERT INTO sandbox_charges (id, tenant_id, idempotency_key, amount_minor, currency, status) VALUES ($1, $2, $3, 1000, 'USD', 'succeeded')`,
      [event.data.chargeId, tenantId, `session:${sessionId}`],
    );
    const body = JSON.stringify(event);
    const late = await api.post('/v1/providers/sandbox/webhook', body, { 'Sandbox-Signature': sign(SANDBOX_SECRET, body) });
    expect(late.body).toEqual({ received: true, duplicate: false });
    expect((await api.get(`/v1/purchases/${reference}`)).body.status).toBe('expired');
    expect(await ledgerRows(tenantId, reference)).toBe(0);
    expect(await creditsOf(api, customer)).toEqual(before);

    // The same Idempotency-Key answers the expired purchase, not a new one.
    const again = await api.post('/v1/addon', { customer, pack: '500-ai-credits', quantity: 1 }, { 'Idempotency-Key': key });
    expect(again.body).toMatchObject({ reference, status: 'expired' });
    const { rows: purchases } = await db.query('SELECT count(*)::int AS n FROM purchases WHERE tenant_id = $1', [tenantId]);
    expect(purchases[0].n).toBe(1);

    // The tenant's endpoint hears of it once, signed like every event.
    const expiredHook = await eventually(() => hooks.received.find((r) => JSON.parse(r.body).type === 'purchase.expired'), 30_000);
    expect(JSON.parse(expiredHook.body).data).toMatchObject({ reference, credits: 500, amount: 1000, currency: 'USD' });
    expect(expiredHook.headers['tally-signature'] ?? expiredHook.headers['x-tally-signature']).toBeTruthy();
    await hooks.close();
  });

  it("the stale sweeper ends a live tenant's leftover sandbox purchase failed instead of retrying it forever", { timeout: 120_000 }, async () => {
    const shop = await billingTenant(apiUrl);
    const buyer = await newCustomer(shop.api);
    const template = await shop.api.post('/v1/addon', { customer: buyer, pack: '500-ai-credits', quantity: 1 });
    const live = await new TenantService(db).createTenant(`expiry-live-${Date.now()}`, 'live');
    const reference = randomUUID();
    // A sandbox purchase of a live tenant, left pending (made before the no-free-credits rule), idle past the stale threshold.
    await db.query(
      `INSERT INTO purchases
       SELECT (jsonb_populate_record(NULL::purchases, to_jsonb(p) || jsonb_build_object(
                 'id', $2::text, 'tenant_id', $3::text, 'idempotency_key', NULL, 'checkout_id', NULL, 'checkout_url', NULL,
                 'status', 'pending', 'created_at', now(), 'updated_at', now() - interval '10 minutes'))).*
         FROM purchases p WHERE p.id = $1`,
      [template.body.reference, reference, live.tenantId],
    );
    const status = () => db.query('SELECT status, failure_code FROM purchases WHERE id = $1', [reference]).then((r) => r.rows[0]);
    // The sweeper runs every 30 s.
    const ended = await eventually(async () => ((await status()).status === 'failed' ? status() : null), 75_000, 500);
    expect(ended).toEqual({ status: 'failed', failure_code: 'provider_not_configured' });
    expect(await ledgerRows(live.tenantId, reference)).toBe(0);
  });
});
