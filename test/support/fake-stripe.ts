import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

export interface StripeCall {
  method: string;
  path: string;
  form: URLSearchParams;
  /** Idempotency-Key header */
  key: string | undefined;
  /** Authorization header: which secret key made the call */
  auth: string | undefined;
}

const PM = { id: 'pm_e2e_visa', object: 'payment_method', type: 'card', customer: 'cus_e2e', card: { brand: 'visa', last4: '4242', exp_month: 1, exp_year: 2031 } };

/**
 * Stripe's API as a local server answering its documented shapes, for STRIPE_API_BASE: customers,
 * checkout sessions, off-session PaymentIntents (ids unique to this run: a provider-side refund finds
 * its purchase by charge), the PaymentIntent of the last session opened, refunds, expiring a checkout session
 * (500 on demand: failExpire). Every call is recorded.
 */
export async function fakeStripe() {
  const run = randomUUID().slice(0, 8);
  const calls: StripeCall[] = [];
  /** Checkout session id → how many more expire calls answer 500. */
  const expireFailures = new Map<string, number>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const form = new URLSearchParams(req.method === 'GET' ? url.search : body);
      calls.push({ method: req.method ?? '', path: url.pathname, form, key: req.headers['idempotency-key'] as string | undefined, auth: req.headers.authorization });
      const route = `${req.method} ${url.pathname}`;
      let out: [number, unknown] = [404, { error: { type: 'invalid_request_error', message: route } }];
      if (route === 'POST /v1/customers') out = [200, { id: 'cus_e2e', object: 'customer' }];
      if (route === 'POST /v1/checkout/sessions') {
        const id = `cs_e2e_${run}_${calls.length}`; // unique to this run: purchases of earlier runs stay in the shared Postgres
        out = [200, { id, object: 'checkout.session', url: `https://checkout.stripe.com/c/pay/${id}` }];
      }
      if (req.method === 'GET' && url.pathname.startsWith('/v1/payment_intents/')) {
        // the PaymentIntent of the last session Tally opened, with what it collected and the metadata Tally set
        const opened = calls.findLast((c) => c.path === '/v1/checkout/sessions')!.form;
        const amount = Number(opened.get('line_items[0][price_data][unit_amount]')) * Number(opened.get('line_items[0][quantity]'));
        const metadata = { tally_reference: opened.get('payment_intent_data[metadata][tally_reference]'), tally_tenant: opened.get('payment_intent_data[metadata][tally_tenant]') };
        out = [200, { id: url.pathname.split('/').pop(), object: 'payment_intent', status: 'succeeded', amount, amount_received: amount,
          currency: opened.get('line_items[0][price_data][currency]'), metadata, customer: 'cus_e2e', setup_future_usage: 'off_session', payment_method: PM }];
      }
      if (route === 'POST /v1/payment_intents') out = [200, { id: `pi_off_${run}_${calls.length}`, object: 'payment_intent', status: 'succeeded' }];
      if (route === 'POST /v1/refunds') out = [200, { id: 're_e2e', object: 'refund', status: 'succeeded' }];
      const expire = /^\/v1\/checkout\/sessions\/([^/]+)\/expire$/.exec(url.pathname);
      if (req.method === 'POST' && expire) {
        const failing = expireFailures.get(expire[1]!) ?? 0;
        if (failing > 0) expireFailures.set(expire[1]!, failing - 1);
        out = failing > 0
          ? [500, { error: { type: 'api_error', message: 'Something went wrong on our end.' } }]
          : [200, { id: expire[1], object: 'checkout.session', status: 'expired' }];
      }
      // stripe-node's own retries (maxNetworkRetries) off: one call here is one attempt by Tally
      res.writeHead(out[0], { 'Content-Type': 'application/json', 'Stripe-Should-Retry': 'false' }).end(JSON.stringify(out[1]));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    calls,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** The id of the off-session PaymentIntent Tally created for a purchase. */
    intentOf: (reference: string) => {
      const i = calls.findIndex((c) => c.method === 'POST' && c.path === '/v1/payment_intents' && c.key === `tally_purchase_${reference}`);
      if (i < 0) throw new Error(`no PaymentIntent for purchase ${reference}`);
      return `pi_off_${run}_${i + 1}`;
    },
    /** The next `times` calls expiring this checkout session answer 500 (Stripe's api_error). */
    failExpire: (sessionId: string, times: number) => void expireFailures.set(sessionId, times),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
