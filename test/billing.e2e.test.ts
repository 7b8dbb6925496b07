import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from './support/stack.ts';
import {
  SANDBOX_SECRET,
  billingTenant,
  buyNow,
  catalog,
  creditsOf,
  db,
  ledgerRows,
  newCustomer,
  payOnPage,
  sandboxCharges,
  saveCard,
  sign,
  tenantCharges,
  webhookReceiver,
  type Api,
} from './billing.support.ts';

afterAll(async () => {
  await db.end();
});

const completed = (api: Api, reference: string) =>
  eventually(async () => {
    const r = await api.get(`/v1/purchases/${reference}`);
    return r.body.status === 'completed' ? r.body : null;
  }, 45_000);

describe('buying credit packs (the seed guide)', () => {
  it('no card: checkout URL, pay on the sandbox page, webhook, credits; the card is then on file', async () => {
    const { tenantId, api } = await billingTenant();
    const customer = await newCustomer(api);
    expect(await creditsOf(api, customer)).toEqual({ balance: 100, addon: 0, plan: 100 });

    const res = await api.post('/v1/addon', { customer, pack: '500-ai-credits', quantity: 1 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, requiresCheckout: true, status: 'awaiting_payment' });
    expect(res.body.checkoutUrl).toMatch(/\/v1\/sandbox\/checkout\/cs_sbx_[0-9a-f]{24}$/);

    const page = await fetch(res.body.checkoutUrl);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain('500 AI Credits'); // the pack's name, not its slug
    expect(html).not.toContain('500-ai-credits');
    expect(html).toMatch(/data-quantity>1</);
    expect(html).toContain('10.00 USD');

    const declined = await payOnPage(res.body.checkoutUrl, '4000000000000002');
    expect(declined.status).toBe(402);
    expect(declined.html).toContain('Your card was declined.');
    expect((await api.get(`/v1/purchases/${res.body.reference}`)).body.status).toBe('awaiting_payment');

    const paid = await payOnPage(res.body.checkoutUrl, '4242 4242 4242 4242', true);
    expect(paid.status).toBe(303); // back to Tally's return page
    const purchase = await completed(api, res.body.reference);
    expect(purchase).toMatchObject({ credits: 500, amount: 1000, currency: 'USD', pack: '500-ai-credits', creditSystem: 'ai-credits', provider: 'sandbox' });
    expect(await ledgerRows(tenantId, res.body.reference)).toBe(1);
    expect(await creditsOf(api, customer)).toEqual({ balance: 600, addon: 500, plan: 100 });

    const wallet = await api.get(`/v1/wallet?customer=${customer}`);
    expect(wallet.body).toMatchObject({ success: true, hasCard: true, card: { provider: 'sandbox', brand: 'visa', last4: '4242' } });

    // Paying the same session twice is refused by the sandbox, and credits nothing.
    expect((await payOnPage(res.body.checkoutUrl, '4242424242424242')).status).toBe(409);
    expect(await ledgerRows(tenantId, res.body.reference)).toBe(1);
  });

  it('card on file: charged at once; 3 packs are 1,500 credits, and check shows the new balance', async () => {
    const { tenantId, api } = await billingTenant();
    const customer = await newCustomer(api);
    await saveCard(api, customer);

    const res = await buyNow(api, { customer, pack: '500-ai-credits', quantity: 3 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, requiresCheckout: false, credits: 1500, balance: 1600, status: 'completed' });
    expect(res.body.creditSystemId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await sandboxCharges(tenantId, res.body.reference)).toBe(1);
    expect((await api.get(`/v1/purchases/${res.body.reference}`)).body).toMatchObject({ amount: 3000, quantity: 3, credits: 1500 });
    expect(await creditsOf(api, customer)).toEqual({ balance: 1600, addon: 1500, plan: 100 });

    const one = await buyNow(api, { customer, pack: '500-ai-credits' });
    expect(one.body).toMatchObject({ success: true, requiresCheckout: false, credits: 500, balance: 2100 });
  });

  it('spends plan allowance first, purchased credits after', async () => {
    const { api } = await billingTenant();
    const customer = await newCustomer(api);
    await saveCard(api, customer);
    await buyNow(api, { customer, pack: '500-ai-credits' });
    // gpt-4 costs 20 credits a call: 4 calls = 80 from the plan's 100, the 5th and 6th take 20 more plan + 20 purchased.
    for (let i = 0; i < 6; i++) {
      const r = await api.post('/v1/check', { customer, feature: 'gpt-4', sendEvent: true, id: `evt-${i}` });
      expect(r.body.allowed).toBe(true);
    }
    expect(await creditsOf(api, customer)).toEqual({ balance: 480, addon: 480, plan: 0 });
  });

  it('a declined card on file grants nothing and says why', async () => {
    const { tenantId, api } = await billingTenant();
    const customer = await newCustomer(api);
    await saveCard(api, customer, '4000000000000002');
    const res = await buyNow(api, { customer, pack: '500-ai-credits' });
    expect(res.status).toBe(402);
    expect(res.body).toMatchObject({ success: false, requiresCheckout: false, status: 'failed', error: { code: 'card_declined' } });
    expect(res.body.message).toContain('declined');
    expect(await ledgerRows(tenantId, res.body.reference)).toBe(0);
    expect((await api.get(`/v1/purchases/${res.body.reference}`)).body.failure).toMatchObject({ code: 'card_declined' });
    expect(await creditsOf(api, customer)).toEqual({ balance: 100, addon: 0, plan: 100 });
  });

  it('the same Idempotency-Key is the same purchase: charged once, credited once', async () => {
    const { tenantId, api } = await billingTenant();
    const customer = await newCustomer(api);
    await saveCard(api, customer);
    const key = `buy-${randomUUID()}`;
    const answers = await Promise.all(
      [0, 1, 2].map(() => api.post('/v1/addon', { customer, pack: '500-ai-credits', quantity: 2 }, { 'Idempotency-Key': key })),
    );
    const references = new Set(answers.map((a) => a.body.reference));
    expect(references.size).toBe(1);
    const [reference] = [...references] as [string];
    await completed(api, reference);
    const again = await api.post('/v1/addon', { customer, pack: '500-ai-credits', quantity: 2 }, { 'Idempotency-Key': key });
    expect(again.body).toMatchObject({ reference, credits: 1000, balance: 1100 });
    expect(await sandboxCharges(tenantId, reference)).toBe(1);
    expect(await tenantCharges(tenantId)).toBe(1);
    expect(await ledgerRows(tenantId, reference)).toBe(1);
    expect(await creditsOf(api, customer)).toEqual({ balance: 1100, addon: 1000, plan: 100 });
  });

  it('rejects bad input with the documented codes', async () => {
    const { api } = await billingTenant();
    const customer = await newCustomer(api);
    expect((await api.post('/v1/addon', { customer, pack: 'nope' })).body.error.code).toBe('pack_not_found');
    // a bad pack for an unknown customer creates nothing; a good one creates the customer (as track and check do)
    expect((await api.post('/v1/addon', { customer: 'ghost', pack: 'nope' })).body.error.code).toBe('pack_not_found');
    expect((await api.get('/v1/customers/ghost')).status).toBe(404);
    expect((await api.post('/v1/addon', { customer: 'ghost', pack: '500-ai-credits' })).body).toMatchObject({ success: true, requiresCheckout: true });
    expect((await api.get('/v1/customers/ghost')).status).toBe(200);
    const q = await api.post('/v1/addon', { customer, pack: '500-ai-credits', quantity: 101 });
    expect(q.status).toBe(400);
    expect(q.body.error.code).toBe('validation_error');
    expect((await api.post('/v1/addon', { customer, pack: '500-ai-credits', quantity: 0 })).status).toBe(400);
    expect((await api.post('/v1/addon', { customer, pack: '500-ai-credits', quantity: 1.5 })).status).toBe(400);
    const stripe = await api.post('/v1/addon', { customer, pack: 'stripe-pack' });
    expect(stripe.status).toBe(400);
    expect(stripe.body.error).toMatchObject({ code: 'provider_not_configured', provider: 'stripe' });
    expect(stripe.body.error.message).toContain('stripe');
    expect((await api.post('/v1/addon', { customer, pack: '500-ai-credits', currency: 'EUR' })).body.error.code).toBe('currency_mismatch');
  });
});

describe('provider webhooks', () => {
  async function paidThroughCheckout() {
    const { tenantId, api } = await billingTenant();
    const customer = await newCustomer(api);
    const res = await api.post('/v1/addon', { customer, pack: '500-ai-credits' });
    await payOnPage(res.body.checkoutUrl, '4242424242424242');
    await completed(api, res.body.reference);
    const { rows } = await db.query("SELECT payload FROM sandbox_events WHERE tenant_id = $1 AND type = 'checkout.completed'", [tenantId]);
    return { tenantId, api, customer, reference: res.body.reference as string, event: rows[0].payload as { id: string; data: Record<string, unknown> } };
  }

  it('a re-delivered event (same id) is acknowledged and credits nothing twice; a new event for a paid purchase neither', async () => {
    const { tenantId, api, customer, reference, event } = await paidThroughCheckout();
    const body = JSON.stringify(event);
    const again = await api.post('/v1/providers/sandbox/webhook', body, { 'Sandbox-Signature': sign(SANDBOX_SECRET, body) });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ received: true, duplicate: true });
    const other = JSON.stringify({ ...event, id: `evt_sbx_${randomUUID().replace(/-/g, '').slice(0, 24)}` });
    const fresh = await api.post('/v1/providers/sandbox/webhook', other, { 'Sandbox-Signature': sign(SANDBOX_SECRET, other) });
    expect(fresh.body).toEqual({ received: true, duplicate: false });
    expect(await ledgerRows(tenantId, reference)).toBe(1);
    expect(await creditsOf(api, customer)).toEqual({ balance: 600, addon: 500, plan: 100 });
  });

  it('the sandbox re-sends an event Tally never acknowledged (its first delivery was lost)', { timeout: 90_000 }, async () => {
    const { tenantId, api } = await billingTenant();
    const customer = await newCustomer(api);
    const res = await api.post('/v1/addon', { customer, pack: '500-ai-credits' });
    // What the sandbox records when the buyer pays, with a webhook that never reached Tally.
    const sessionId = res.body.checkoutUrl.split('/').pop();
    const chargeId = `ch_sbx_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
    const eventId = `evt_sbx_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
    await db.query(
      `INSERT INTO sandbox_charges (id, tenant_id, idempotency_key, amount_minor, currency, status) VALUES ($1, $2, $3, 1000, 'USD', 'succeeded')`,
      [chargeId, tenantId, `session:${sessionId}`],
    );
    const event = { id: eventId, type: 'checkout.completed', created: Math.floor(Date.now() / 1000), data: { tenantId, sessionId, reference: res.body.reference, chargeId } };
    await db.query(`INSERT INTO sandbox_events (id, tenant_id, type, payload, created_at) VALUES ($1, $2, 'checkout.completed', $3, now() - interval '1 minute')`, [
      eventId,
      tenantId,
      JSON.stringify(event),
    ]);
    expect((await api.get(`/v1/purchases/${res.body.reference}`)).body.status).toBe('awaiting_payment');
    await eventually(async () => (await api.get(`/v1/purchases/${res.body.reference}`)).body.status === 'completed', 75_000, 500);
    expect(await ledgerRows(tenantId, res.body.reference)).toBe(1);
  });

  it('rejects forged and stale signatures', async () => {
    const { api, event } = await paidThroughCheckout();
    const body = JSON.stringify({ ...event, id: 'evt_forged' });
    const forged = await api.post('/v1/providers/sandbox/webhook', body, { 'Sandbox-Signature': sign('not-the-secret-at-all', body) });
    expect(forged.status).toBe(400);
    expect(forged.body.error.code).toBe('invalid_signature');
    const tampered = await api.post('/v1/providers/sandbox/webhook', body, { 'Sandbox-Signature': sign(SANDBOX_SECRET, JSON.stringify(event)) });
    expect(tampered.status).toBe(400);
    const stale = await api.post('/v1/providers/sandbox/webhook', body, {
      'Sandbox-Signature': sign(SANDBOX_SECRET, body, Math.floor(Date.now() / 1000) - 6 * 60),
    });
    expect(stale.status).toBe(400);
    expect(stale.body.error.message).toContain('tolerance');
    expect((await api.post('/v1/providers/sandbox/webhook', body)).status).toBe(400);
  });
});

describe('refunds', () => {
  it('revokes the unspent credits, pays back their share of the price, records the spent ones, answers the same when repeated', async () => {
    const { tenantId, api } = await billingTenant();
    const customer = await newCustomer(api);
    await saveCard(api, customer);
    const hooks = await webhookReceiver();
    await api.post('/v1/webhooks/endpoints', { url: hooks.url, events: ['refund.completed'] });
    const buy = await buyNow(api, { customer, pack: '500-ai-credits' });
    // 6 gpt-4 calls = 120 credits: 100 from the plan, 20 from the pack.
    for (let i = 0; i < 6; i++) await api.post('/v1/check', { customer, feature: 'gpt-4', sendEvent: true, id: `r-${i}` });
    const refund = await api.post(`/v1/purchases/${buy.body.reference}/refund`);
    expect(refund.status).toBe(200);
    // the pack's default rule, 'unspent': 480 of 500 credits unspent = 480/500 of 10.00
    expect(refund.body).toMatchObject({ success: true, status: 'refunded', amount: 960, currency: 'USD', revokedCredits: 480, spentCredits: 20 });
    expect(await creditsOf(api, customer)).toEqual({ balance: 0, addon: 0, plan: 0 });
    const { rows } = await db.query('SELECT credits_micro, revoked_micro FROM credit_grants WHERE tenant_id = $1 AND purchase_id = $2', [tenantId, buy.body.reference]);
    expect(rows[0]).toEqual({ credits_micro: 500_000_000n, revoked_micro: 480_000_000n });
    const { rows: charges } = await db.query('SELECT refunded_minor FROM sandbox_charges WHERE tenant_id = $1 AND idempotency_key = $2', [
      tenantId,
      `tally_purchase_${buy.body.reference}`,
    ]);
    expect(charges[0].refunded_minor).toBe(960n);

    const twice = await api.post(`/v1/purchases/${buy.body.reference}/refund`);
    expect(twice.body).toEqual(refund.body);
    expect((await api.get(`/v1/purchases/${buy.body.reference}`)).body).toMatchObject({ status: 'refunded', refund: { revokedCredits: 480, spentCredits: 20 } });
    const event = await eventually(async () => hooks.received.find((r) => JSON.parse(r.body).type === 'refund.completed'));
    expect(JSON.parse(event.body).data).toMatchObject({ reference: buy.body.reference, refund: { revokedCredits: 480, spentCredits: 20 } });
    await hooks.close();
  });

  it('pays back the whole price for a pack sold with refundPolicy "full", and keeps the rule a purchase was sold under', async () => {
    const { tenantId, api } = await billingTenant();
    const full = { slug: 'full-refund', name: 'Full refund', credits: 100, price: 700, currency: 'USD', creditSystem: 'ai-credits', refundPolicy: 'full' };
    expect((await api.post('/v1/sync', { ...catalog, creditPacks: [...catalog.creditPacks, full] })).status).toBe(200);
    expect((await api.get('/v1/credit-packs')).body.creditPacks.find((p: { slug: string }) => p.slug === 'full-refund').refundPolicy).toBe('full');
    const customer = await newCustomer(api);
    await saveCard(api, customer);
    const buy = await buyNow(api, { customer, pack: 'full-refund' });
    expect(buy.body.status).toBe('completed');
    // 6 gpt-4 calls = 120 credits: 100 from the plan, 20 from the pack
    for (let i = 0; i < 6; i++) await api.post('/v1/check', { customer, feature: 'gpt-4', sendEvent: true, id: `f-${i}` });
    // the pack changes to pro rata after the sale: this purchase keeps the rule it was sold under
    expect((await api.post('/v1/sync', { ...catalog, creditPacks: [...catalog.creditPacks, { ...full, refundPolicy: 'unspent' }] })).body.creditPacks.updated).toEqual(['full-refund']);
    const refund = await api.post(`/v1/purchases/${buy.body.reference}/refund`);
    expect(refund.body).toMatchObject({ status: 'refunded', amount: 700, revokedCredits: 80, spentCredits: 20 });
    const { rows } = await db.query('SELECT refunded_minor FROM sandbox_charges WHERE tenant_id = $1 AND idempotency_key = $2', [tenantId, `tally_purchase_${buy.body.reference}`]);
    expect(rows[0].refunded_minor).toBe(700n);
  });

  it('refunds nothing in money, without a provider call, when every credit of a pro-rata pack was spent', async () => {
    const { tenantId, api } = await billingTenant();
    const customer = await newCustomer(api);
    await saveCard(api, customer);
    const buy = await buyNow(api, { customer, pack: '500-ai-credits' });
    // 30 calls = 600 credits: the plan's 100, then all 500 of the pack
    for (let i = 0; i < 30; i++) await api.post('/v1/check', { customer, feature: 'gpt-4', sendEvent: true, id: `s-${i}` });
    const refund = await api.post(`/v1/purchases/${buy.body.reference}/refund`);
    expect(refund.body).toMatchObject({ status: 'refunded', amount: 0, revokedCredits: 0, spentCredits: 500 });
    const { rows } = await db.query('SELECT refunded_minor FROM sandbox_charges WHERE tenant_id = $1 AND idempotency_key = $2', [tenantId, `tally_purchase_${buy.body.reference}`]);
    expect(rows[0].refunded_minor).toBe(0n);
  });

  it('refuses a purchase that is not completed', async () => {
    const { api } = await billingTenant();
    const customer = await newCustomer(api);
    const open = await api.post('/v1/addon', { customer, pack: '500-ai-credits' });
    const r = await api.post(`/v1/purchases/${open.body.reference}/refund`);
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('purchase_not_refundable');
  });
});

describe('outbound webhooks', () => {
  it('signs each event, retries with backoff until the endpoint answers 2xx, logs deliveries, redelivers on demand', async () => {
    const { api } = await billingTenant();
    const customer = await newCustomer(api);
    await saveCard(api, customer);
    const hooks = await webhookReceiver([500]); // first attempt fails
    const endpoint = await api.post('/v1/webhooks/endpoints', { url: hooks.url, events: ['purchase.completed', 'purchase.failed'] });
    expect(endpoint.status).toBe(201);
    expect(endpoint.body.secret).toMatch(/^whsec_/);
    const listed = await api.get('/v1/webhooks/endpoints');
    expect(listed.body.endpoints).toHaveLength(1);
    expect(listed.body.endpoints[0].secret).toBeUndefined();

    const buy = await api.post('/v1/addon', { customer, pack: '500-ai-credits' });
    const delivered = await eventually(async () => (hooks.received.length >= 2 ? hooks.received : null), 30_000);
    const [first, second] = delivered as [{ headers: Record<string, string>; body: string }, { headers: Record<string, string>; body: string }];
    expect(second.body).toBe(first.body);
    const event = JSON.parse(second.body);
    expect(event).toMatchObject({ id: `purchase.completed:${buy.body.reference}`, type: 'purchase.completed', data: { reference: buy.body.reference, credits: 500, customer } });
    const header = String(second.headers['tally-signature']);
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header) ?? [];
    expect(v1).toBe(createHmac('sha256', endpoint.body.secret).update(`${t}.${second.body}`).digest('hex'));

    const log = await eventually(async () => {
      const r = await api.get(`/v1/webhooks/endpoints/${endpoint.body.id}/deliveries`);
      return r.body.deliveries?.[0]?.status === 'succeeded' ? r.body.deliveries : null;
    });
    expect(log[0]).toMatchObject({ eventType: 'purchase.completed', attempts: 2, responseStatus: 200 });

    const redo = await api.post(`/v1/webhooks/endpoints/${endpoint.body.id}/deliveries/${log[0].id}/redeliver`);
    expect(redo.status).toBe(202);
    await eventually(async () => hooks.received.length >= 3);
    expect(JSON.parse(hooks.received[2]!.body).id).toBe(event.id);
    await hooks.close();
  });
});

describe('wallet and endpoint management', () => {
  it('removing the only card sends the next purchase to checkout; endpoints can be removed; unknown ids are 404', async () => {
    const { api } = await billingTenant();
    const customer = await newCustomer(api);
    const card = await saveCard(api, customer);
    const removed = await api.del(`/v1/wallet/methods/${card.id}`);
    expect(removed.status).toBe(200);
    expect((await api.get(`/v1/wallet?customer=${customer}`)).body).toMatchObject({ hasCard: false, card: null, methods: [] });
    expect((await api.del(`/v1/wallet/methods/${card.id}`)).status).toBe(404);
    const buy = await api.post('/v1/addon', { customer, pack: '500-ai-credits' });
    expect(buy.body.requiresCheckout).toBe(true);
    expect((await api.get('/v1/wallet?customer=nobody')).body.error.code).toBe('customer_not_found');

    const hooks = await webhookReceiver();
    const endpoint = await api.post('/v1/webhooks/endpoints', { url: hooks.url });
    expect(endpoint.body.events).toEqual(['purchase.completed', 'purchase.failed', 'purchase.expired', 'balance.low', 'balance.exhausted', 'refund.completed',
      'subscription.renewed', 'subscription.renewal_failed', 'subscription.past_due', 'subscription.canceled', 'subscription.updated']);
    expect((await api.del(`/v1/webhooks/endpoints/${endpoint.body.id}`)).status).toBe(200);
    expect((await api.get('/v1/webhooks/endpoints')).body.endpoints).toEqual([]);
    expect((await api.get(`/v1/webhooks/endpoints/${endpoint.body.id}/deliveries`)).status).toBe(404);
    expect((await api.post('/v1/webhooks/endpoints', { url: 'ftp://example.test/x' })).status).toBe(400);
    expect((await api.put('/v1/webhooks/balance-alerts', { creditSystem: 'nope', lowBalance: 5 })).body.error.code).toBe('credit_system_not_found');
    expect((await api.get(`/v1/auto-topup?customer=${customer}&creditSystem=ai-credits`)).status).toBe(404);
    await hooks.close();
  });

  it("never shows or changes another tenant's purchases, cards or endpoints", async () => {
    const a = await billingTenant();
    const b = await billingTenant();
    const customer = await newCustomer(a.api);
    const card = await saveCard(a.api, customer);
    const buy = await buyNow(a.api, { customer, pack: '500-ai-credits' });
    const endpoint = await a.api.post('/v1/webhooks/endpoints', { url: 'http://127.0.0.1:9/x' });
    expect((await b.api.get(`/v1/purchases/${buy.body.reference}`)).status).toBe(404);
    expect((await b.api.post(`/v1/purchases/${buy.body.reference}/refund`)).status).toBe(404);
    expect((await b.api.del(`/v1/wallet/methods/${card.id}`)).status).toBe(404);
    expect((await b.api.del(`/v1/webhooks/endpoints/${endpoint.body.id}`)).status).toBe(404);
    expect((await b.api.get('/v1/webhooks/endpoints')).body.endpoints).toEqual([]);
    expect((await a.api.get(`/v1/wallet?customer=${customer}`)).body.hasCard).toBe(true);
  });
});

describe('paid plans through billing (the PlanCheckout seam)', () => {
  it('attach of a paid plan returns a sandbox checkout; paying activates the plan and keeps the card', async () => {
    const { api } = await billingTenant();
    const customer = await newCustomer(api);
    const attach = await api.post('/v1/attach', { customer, product: 'pro' });
    expect(attach.status).toBe(200);
    expect(attach.body).toMatchObject({ success: true, requiresCheckout: true });
    expect(attach.body.reference).toMatch(/^sub_/);
    const html = await (await fetch(attach.body.checkoutUrl)).text();
    expect(html).toContain('Pro');
    expect(html).toContain('20.00 USD');
    expect(await creditsOf(api, customer)).toEqual({ balance: 100, addon: 0, plan: 100 });
    const paid = await payOnPage(attach.body.checkoutUrl, '4242424242424242', true);
    expect(paid.status).toBe(303);
    await eventually(async () => (await creditsOf(api, customer)).plan === 5000);
    expect((await api.get(`/v1/wallet?customer=${customer}`)).body.hasCard).toBe(true);
  });
});
