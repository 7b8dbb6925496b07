import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StripeProvider } from './stripe-provider.ts';

/**
 * The adapter against a local HTTP server that speaks Stripe's documented
 * request format (form-encoded, Idempotency-Key header) and answers with
 * Stripe's documented object shapes. No network, no mocks of the package.
 */
interface Seen {
  method: string;
  path: string;
  form: URLSearchParams;
  idempotencyKey: string | undefined;
}

const seen: Seen[] = [];
const card = { brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2030 };
const paymentMethod = { id: 'pm_card_visa', object: 'payment_method', type: 'card', card, customer: 'cus_123' };

function answer(req: Seen): [number, unknown] {
  const { method, path, form } = req;
  if (method === 'POST' && path === '/v1/customers') return [200, { id: 'cus_123', object: 'customer', email: form.get('email') }];
  if (method === 'POST' && path === '/v1/checkout/sessions') {
    return [200, { id: 'cs_test_1', object: 'checkout.session', mode: form.get('mode'), url: 'https://checkout.stripe.com/c/pay/cs_test_1', status: 'open' }];
  }
  if (method === 'POST' && path === '/v1/payment_intents') {
    if (form.get('payment_method') === 'pm_card_chargeDeclinedInsufficientFunds') {
      return [
        402,
        {
          error: {
            type: 'card_error',
            code: 'card_declined',
            decline_code: 'insufficient_funds',
            message: 'Your card has insufficient funds.',
            payment_intent: { id: 'pi_declined', object: 'payment_intent', status: 'requires_payment_method' },
          },
        },
      ];
    }
    return [200, { id: 'pi_1', object: 'payment_intent', status: 'succeeded', amount: Number(form.get('amount')), currency: form.get('currency') }];
  }
  if (method === 'GET' && path === '/v1/payment_intents/pi_1') {
    return [
      200,
      {
        id: 'pi_1', object: 'payment_intent', status: 'succeeded', amount: 3000, amount_received: 3000, currency: 'usd', customer: 'cus_123',
        setup_future_usage: 'off_session', payment_method: paymentMethod, metadata: { tally_reference: 'ref-3', tally_tenant: 't1' },
      },
    ];
  }
  if (method === 'GET' && path === '/v1/setup_intents/seti_1') {
    return [200, { id: 'seti_1', object: 'setup_intent', status: 'succeeded', customer: 'cus_123', payment_method: paymentMethod }];
  }
  if (method === 'POST' && path === '/v1/refunds') {
    if (form.get('payment_intent') === 'pi_broken') return [500, { error: { type: 'api_error', message: 'Something went wrong on our end.' } }];
    return [200, { id: 're_1', object: 'refund', status: 'succeeded', amount: Number(form.get('amount')) }];
  }
  const expire = /^\/v1\/checkout\/sessions\/([^/]+)\/expire$/.exec(path);
  if (method === 'POST' && expire) {
    if (expire[1] === 'cs_paid') return [400, { error: { type: 'invalid_request_error', message: 'Only Checkout Sessions with a status in ["open"] can be expired.' } }];
    if (expire[1] === 'cs_broken') return [500, { error: { type: 'api_error', message: 'Something went wrong on our end.' } }];
    if (expire[1] === 'cs_open') return [200, { id: 'cs_open', object: 'checkout.session', status: 'expired' }];
  }
  return [404, { error: { type: 'invalid_request_error', message: `no route ${method} ${path}` } }];
}

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const entry: Seen = {
      method: req.method ?? '',
      path: url.pathname,
      form: new URLSearchParams(req.method === 'GET' ? url.search : body),
      idempotencyKey: req.headers['idempotency-key'] as string | undefined,
    };
    seen.push(entry);
    const [status, json] = answer(entry);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Request-Id': `req_${seen.length}` }).end(JSON.stringify(json));
  });
});

const WEBHOOK_SECRET = 'whsec_test_secret';
let provider: StripeProvider;
const signer = new Stripe('sk_test_signing_only');

beforeAll(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  provider = new StripeProvider({ secretKey: 'sk_test_local', webhookSecret: WEBHOOK_SECRET, apiBase: `http://127.0.0.1:${port}` });
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const last = (path: string) => [...seen].reverse().find((s) => s.path === path)!;

describe('Stripe adapter', () => {
  it('charges a saved card off-session with the idempotency key, and maps a decline', async () => {
    const ok = await provider.chargeSavedMethod({
      tenantId: 't1',
      reference: 'ref-1',
      providerCustomerId: 'cus_123',
      providerMethodId: 'pm_card_visa',
      amountMinor: 3000n,
      currency: 'USD',
      description: '3 × 500-ai-credits',
      idempotencyKey: 'tally_purchase_ref-1',
    });
    expect(ok).toEqual({ status: 'succeeded', chargeId: 'pi_1' });
    const req = last('/v1/payment_intents');
    expect(req.idempotencyKey).toBe('tally_purchase_ref-1');
    expect(Object.fromEntries(['amount', 'currency', 'customer', 'payment_method', 'off_session', 'confirm', 'metadata[tally_reference]'].map((k) => [k, req.form.get(k)]))).toEqual({
      amount: '3000',
      currency: 'usd',
      customer: 'cus_123',
      payment_method: 'pm_card_visa',
      off_session: 'true',
      confirm: 'true',
      'metadata[tally_reference]': 'ref-1',
    });

    const declined = await provider.chargeSavedMethod({
      tenantId: 't1',
      reference: 'ref-2',
      providerCustomerId: 'cus_123',
      providerMethodId: 'pm_card_chargeDeclinedInsufficientFunds',
      amountMinor: 1000n,
      currency: 'USD',
      description: 'x',
      idempotencyKey: 'tally_purchase_ref-2',
    });
    expect(declined).toEqual({ status: 'declined', code: 'insufficient_funds', message: 'Your card has insufficient funds.', chargeId: 'pi_declined' });
  });

  it('opens Checkout Sessions for a payment (saving the card) and for a card set-up', async () => {
    const session = await provider.createCheckout({
      tenantId: 't1',
      reference: 'ref-3',
      providerCustomerId: 'cus_123',
      item: { name: '500 AI Credits', unitAmountMinor: 1000n, quantity: 3, currency: 'USD' },
      successUrl: 'https://app.example/ok',
      cancelUrl: 'https://app.example/cancel',
      saveCard: true,
      idempotencyKey: 'tally_checkout_ref-3',
    });
    expect(session).toEqual({ id: 'cs_test_1', url: 'https://checkout.stripe.com/c/pay/cs_test_1' });
    const req = last('/v1/checkout/sessions');
    expect(req.idempotencyKey).toBe('tally_checkout_ref-3');
    expect(req.form.get('mode')).toBe('payment');
    expect(req.form.get('client_reference_id')).toBe('ref-3');
    expect(req.form.get('line_items[0][quantity]')).toBe('3');
    expect(req.form.get('line_items[0][price_data][unit_amount]')).toBe('1000');
    expect(req.form.get('line_items[0][price_data][currency]')).toBe('usd');
    expect(req.form.get('payment_intent_data[setup_future_usage]')).toBe('off_session');

    await provider.setupCard({
      tenantId: 't1',
      reference: 'setup-1',
      providerCustomerId: 'cus_123',
      successUrl: 'https://app.example/ok',
      cancelUrl: 'https://app.example/cancel',
      idempotencyKey: 'tally_setup_setup-1',
    });
    const setup = last('/v1/checkout/sessions');
    expect(setup.form.get('mode')).toBe('setup');
    expect(setup.form.get('payment_method_types[0]')).toBe('card');
  });

  it('creates the customer once per Tally customer and refunds with an idempotency key', async () => {
    expect(await provider.ensureCustomer({ tenantId: 't1', customerId: 'c1', email: 'c1@example.test' })).toBe('cus_123');
    expect(last('/v1/customers').idempotencyKey).toBe('tally-customer-t1-c1');
    expect(await provider.refund({ tenantId: 't1', chargeId: 'pi_1', amountMinor: 1000n, idempotencyKey: 'tally_refund_ref-1' })).toEqual({
      refundId: 're_1',
      status: 'succeeded',
    });
    expect(last('/v1/refunds').form.get('amount')).toBe('1000');
    await expect(provider.refund({ tenantId: 't1', chargeId: 'pi_broken', amountMinor: 1n, idempotencyKey: 'k' })).rejects.toMatchObject({
      code: 'provider_unavailable',
      retryable: true,
    });
  });

  it('expires an open Checkout Session; one no longer open (400) or unknown (404) is not_open; a 5xx is provider_unavailable', async () => {
    expect(await provider.expireCheckout('cs_open')).toBe('expired');
    expect(last('/v1/checkout/sessions/cs_open/expire').method).toBe('POST');
    expect(await provider.expireCheckout('cs_paid')).toBe('not_open');
    expect(await provider.expireCheckout('cs_unknown')).toBe('not_open');
    await expect(provider.expireCheckout('cs_broken')).rejects.toMatchObject({ code: 'provider_unavailable', retryable: true });
  });

  it('verifies webhook signatures with constructEvent and reads the paid session and its saved card', async () => {
    const payload = JSON.stringify({
      id: 'evt_1',
      object: 'event',
      type: 'checkout.session.completed',
      data: { object: { id: 'cs_test_1', object: 'checkout.session', mode: 'payment', payment_status: 'paid', client_reference_id: 'ref-3', payment_intent: 'pi_1' } },
    });
    const header = signer.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
    expect(await provider.verifyAndParseWebhook(payload, { 'stripe-signature': header })).toEqual({
      id: 'evt_1',
      type: 'checkout.completed',
      reference: 'ref-3',
      chargeId: 'pi_1',
      card: { providerMethodId: 'pm_card_visa', providerCustomerId: 'cus_123', brand: 'visa', last4: '4242', expMonth: 12, expYear: 2030 },
      // what Stripe says was collected, read back from the PaymentIntent, for billing to compare with the purchase
      paid: { checkoutId: 'cs_test_1', amountMinor: 3000n, currency: 'USD', reference: 'ref-3', tenantId: 't1' },
    });

    const setupPayload = JSON.stringify({
      id: 'evt_2',
      object: 'event',
      type: 'checkout.session.completed',
      data: { object: { id: 'cs_test_2', object: 'checkout.session', mode: 'setup', client_reference_id: 'setup-1', setup_intent: 'seti_1' } },
    });
    const setup = await provider.verifyAndParseWebhook(setupPayload, {
      'stripe-signature': signer.webhooks.generateTestHeaderString({ payload: setupPayload, secret: WEBHOOK_SECRET }),
    });
    expect(setup).toMatchObject({ id: 'evt_2', type: 'setup.completed', reference: 'setup-1', card: { providerMethodId: 'pm_card_visa' } });

    const other = JSON.stringify({ id: 'evt_3', object: 'event', type: 'invoice.paid', data: { object: {} } });
    expect(
      await provider.verifyAndParseWebhook(other, { 'stripe-signature': signer.webhooks.generateTestHeaderString({ payload: other, secret: WEBHOOK_SECRET }) }),
    ).toEqual({ id: 'evt_3', type: 'ignored', providerType: 'invoice.paid' });
  });

  it('rejects forged, tampered and stale webhook signatures', async () => {
    const payload = JSON.stringify({ id: 'evt_9', object: 'event', type: 'checkout.session.expired', data: { object: { id: 'cs_9', client_reference_id: 'r' } } });
    const forged = signer.webhooks.generateTestHeaderString({ payload, secret: 'whsec_someone_else' });
    await expect(provider.verifyAndParseWebhook(payload, { 'stripe-signature': forged })).rejects.toMatchObject({ code: 'invalid_signature', status: 400 });
    const good = signer.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
    await expect(provider.verifyAndParseWebhook(payload.replace('evt_9', 'evt_8'), { 'stripe-signature': good })).rejects.toMatchObject({
      code: 'invalid_signature',
    });
    const stale = signer.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET, timestamp: Math.floor(Date.now() / 1000) - 600 });
    await expect(provider.verifyAndParseWebhook(payload, { 'stripe-signature': stale })).rejects.toMatchObject({ code: 'invalid_signature' });
    await expect(provider.verifyAndParseWebhook(payload, {})).rejects.toMatchObject({ code: 'invalid_signature' });
    expect(await provider.verifyAndParseWebhook(payload, { 'stripe-signature': good })).toMatchObject({
      type: 'checkout.failed',
      reference: 'r',
      checkoutId: 'cs_9',
      code: 'checkout_expired',
    });
  });

  it('is never built without a webhook secret (an empty one verifies whatever anyone signs with "")', () => {
    expect(() => new StripeProvider({ secretKey: 'sk_test_local', webhookSecret: '' })).toThrow(/webhook signing secret is required/);
  });

  it('serves the environment its key is for: sk_test_ test tenants, sk_live_ live tenants', () => {
    expect(provider.environment).toBe('test');
    expect(new StripeProvider({ secretKey: 'sk_live_local', webhookSecret: WEBHOOK_SECRET }).environment).toBe('live');
    expect(() => new StripeProvider({ secretKey: 'sk_local', webhookSecret: WEBHOOK_SECRET })).toThrow(/sk_test_ or sk_live_/);
  });
});
