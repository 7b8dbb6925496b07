import { createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createPool } from '@tally/postgres';
import { client, config, eventually, newTenant } from './support/stack.ts';

/** Shared helpers of the billing suites: a tenant with the seed's catalog, cards, the sandbox page, a webhook receiver. */
export const db = createPool(config.DATABASE_URL, 3);
export const SANDBOX_SECRET = 'whsec_sandbox_local_development_only';

export const catalog = {
  defaultProvider: 'sandbox',
  features: [
    { slug: 'ai-tokens', type: 'metered', name: 'AI Tokens' },
    { slug: 'gpt-4', type: 'metered', name: 'GPT-4' },
  ],
  creditSystems: [{ slug: 'ai-credits', name: 'AI Credits', features: [{ feature: 'ai-tokens', creditCost: 1 }, { feature: 'gpt-4', creditCost: 20 }] }],
  creditPacks: [
    { slug: '500-ai-credits', name: '500 AI Credits', credits: 500, price: 1000, currency: 'USD', creditSystem: 'ai-credits' },
    { slug: 'stripe-pack', name: 'Stripe pack', credits: 100, price: 500, currency: 'USD', creditSystem: 'ai-credits', provider: 'stripe' },
  ],
  plans: [
    {
      slug: 'pro',
      name: 'Pro',
      price: 2000,
      currency: 'USD',
      interval: 'monthly',
      features: [
        { slug: 'ai-credits', enabled: true, limit: 5000, reset: 'monthly', overage: 'block' },
        { slug: 'ai-tokens', enabled: true },
        { slug: 'gpt-4', enabled: true },
      ],
    },
    {
      slug: 'starter',
      name: 'Starter',
      price: 0,
      currency: 'USD',
      interval: 'monthly',
      features: [
        { slug: 'ai-credits', enabled: true, limit: 100, reset: 'monthly', overage: 'block' },
        { slug: 'ai-tokens', enabled: true },
        { slug: 'gpt-4', enabled: true },
      ],
    },
  ],
};

export type Api = ReturnType<typeof client>;

/** A fresh tenant with the catalog synced. */
export async function billingTenant(base?: string) {
  const tenant = await newTenant('billing');
  const api = client(tenant.apiKey.secret, base);
  const sync = await api.post('/v1/sync', catalog);
  if (sync.status !== 200) throw new Error(`sync failed: ${sync.status} ${JSON.stringify(sync.body)}`);
  return { tenantId: tenant.tenantId, api, secret: tenant.apiKey.secret };
}

/** A customer on the free Starter plan (100 plan credits a month). */
export async function newCustomer(api: Api, id = `cus_${randomUUID().slice(0, 8)}`): Promise<string> {
  const created = await api.post('/v1/customers', { id, email: `${id}@example.test` });
  if (created.status >= 300) throw new Error(`customer: ${created.status} ${JSON.stringify(created.body)}`);
  const attached = await api.post('/v1/attach', { customer: id, product: 'starter' });
  if (attached.status >= 300) throw new Error(`attach: ${attached.status} ${JSON.stringify(attached.body)}`);
  return id;
}

/**
 * POST /v1/addon with a card on file. The API answers 200 once the charge and
 * grant are done, or 202 when that takes longer than its wait (a loaded test
 * machine): then poll, and ask again with the same Idempotency-Key, which
 * answers the completed purchase (200, credits, balance) without a new charge.
 */
export async function buyNow(api: Api, body: Record<string, unknown>, key = randomUUID()) {
  const first = await api.post('/v1/addon', body, { 'Idempotency-Key': key });
  if (first.status !== 202) return first;
  await eventually(async () => ['completed', 'failed'].includes((await api.get(`/v1/purchases/${first.body.reference}`)).body.status), 30_000);
  return api.post('/v1/addon', body, { 'Idempotency-Key': key });
}

/** Submits the sandbox hosted page's form, as a browser would. */
export async function payOnPage(url: string, cardNumber: string, saveCard = false) {
  const form = new URLSearchParams({ cardNumber, expiry: '12/34', cvc: '123', ...(saveCard ? { saveCard: 'true' } : {}) });
  const res = await fetch(url, { method: 'POST', body: form, redirect: 'manual' });
  return { status: res.status, html: await res.text(), location: res.headers.get('location') };
}

/** Saves a card through POST /v1/wallet/setup and the sandbox page. */
export async function saveCard(api: Api, customer: string, cardNumber = '4242424242424242') {
  const setup = await api.post('/v1/wallet/setup', { customer });
  if (setup.status !== 200) throw new Error(`setup: ${setup.status} ${JSON.stringify(setup.body)}`);
  const paid = await payOnPage(setup.body.url, cardNumber);
  if (paid.status !== 200 && paid.status !== 303) throw new Error(`setup page: ${paid.status} ${paid.html}`);
  return eventually(async () => {
    const w = await api.get(`/v1/wallet?customer=${customer}`);
    return w.body.methods?.find((m: { last4: string }) => m.last4 === cardNumber.slice(-4));
  });
}

/** The customer's balance in ai-credits as `check` on a member feature reports it. */
export async function creditsOf(api: Api, customer: string) {
  const r = await api.post('/v1/check', { customer, feature: 'ai-tokens', value: 1 });
  if (r.status !== 200) throw new Error(`check: ${r.status} ${JSON.stringify(r.body)}`);
  return { balance: r.body.balance as number, addon: r.body.credits.addonBalance as number, plan: r.body.credits.plan.balance as number };
}

export async function ledgerRows(tenantId: string, purchaseId: string): Promise<number> {
  const { rows } = await db.query('SELECT count(*)::int AS n FROM credit_grants WHERE tenant_id = $1 AND purchase_id = $2', [tenantId, purchaseId]);
  return rows[0].n;
}

export async function sandboxCharges(tenantId: string, purchaseId: string): Promise<number> {
  const { rows } = await db.query('SELECT count(*)::int AS n FROM sandbox_charges WHERE tenant_id = $1 AND idempotency_key = $2', [
    tenantId,
    `tally_purchase_${purchaseId}`,
  ]);
  return rows[0].n;
}

/** Every charge the sandbox recorded for the tenant, whatever key it came with: "charged once" means this is 1. */
export async function tenantCharges(tenantId: string): Promise<number> {
  const { rows } = await db.query('SELECT count(*)::int AS n FROM sandbox_charges WHERE tenant_id = $1', [tenantId]);
  return rows[0].n;
}

export const sign = (secret: string, body: string, t = Math.floor(Date.now() / 1000)) =>
  `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;

export interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A local HTTP endpoint for outbound webhooks; `statuses` are answered in order, then 200. */
export async function webhookReceiver(statuses: number[] = []) {
  const received: Received[] = [];
  const queue = [...statuses];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(queue.shift() ?? 200).end('ok');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks`, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}
