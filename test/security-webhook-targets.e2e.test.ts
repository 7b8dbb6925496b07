/**
 * Webhook targets are checked: a tenant cannot point Tally's outbound webhooks
 * at Tally's own network. Processes of this suite's own run WITHOUT the test
 * stack's WEBHOOK_ALLOW_PRIVATE_TARGETS (and, for registration, without
 * WEBHOOK_ALLOW_HTTP): loopback, private, link-local and metadata targets —
 * by literal, decimal / hex / short IPv4, mapped IPv6, or a name resolving to
 * 127.0.0.1 — are refused at registration (400 naming the url), and an endpoint
 * registered where that was allowed is blocked at delivery by workers where it
 * is not, so nothing reaches the local receiver. The delivery log shows a
 * status class, never the target's exact status.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { billingTenant, buyNow, db, newCustomer, saveCard, webhookReceiver } from './billing.support.ts';
import { startApp, type AppProcess } from './support/processes.ts';
import { eventually } from './support/stack.ts';

const started: AppProcess[] = [];
let strictApi: AppProcess;
let allowedApi: AppProcess;

/** The shared stack's env without its webhook allowances, on a Redis database of this suite's own (its own queues). */
function ownEnv(extra: Record<string, string>): Record<string, string> {
  const { PUBLIC_URL: _url, WEBHOOK_ALLOW_HTTP: _http, WEBHOOK_ALLOW_PRIVATE_TARGETS: _private, ...stackEnv } = inject('stackEnv');
  return { ...stackEnv, REDIS_URL: 'redis://127.0.0.1:6379/9', KAFKA_CONSUMER_GROUP: `${stackEnv.KAFKA_CONSUMER_GROUP}-webhook-targets`, ...extra };
}

beforeAll(async () => {
  strictApi = await startApp('api', ownEnv({}));
  started.push(strictApi);
  // registers the local receiver, as a deployment that allowed it once would have
  allowedApi = await startApp('api', ownEnv({ WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' }));
  started.push(allowedApi);
}, 120_000);

afterAll(async () => {
  for (const app of started.reverse()) await app.stop();
  await db.end();
});

const endpointsOf = async (tenantId: string) =>
  (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_endpoints WHERE tenant_id = $1', [tenantId])).rows[0]!.n;

describe('registration', () => {
  it('refuses loopback, private, link-local and metadata targets in every spelling with 400 naming the url, and stores nothing', async () => {
    const { tenantId, api } = await billingTenant(strictApi.url);
    const refused = [
      'https://127.0.0.1:3000/healthz',
      'https://2130706433:3000/healthz', // decimal 127.0.0.1
      'https://0x7f000001/', // hex
      'https://017700000001/', // octal
      'https://127.1/', // short form
      'https://localhost:3001/metrics', // a name resolving to 127.0.0.1
      'https://[::1]/',
      'https://[::ffff:127.0.0.1]/', // IPv4-mapped IPv6
      'https://0.0.0.0/',
      'https://10.0.0.8/hook',
      'https://172.16.5.4/hook',
      'https://192.168.1.20/hook',
      'https://100.64.0.1/hook',
      'https://169.254.169.254/latest/meta-data/', // cloud metadata
      'https://[fe80::1]/',
      'https://[fd00::1]/',
      'https://224.0.0.1/',
    ];
    for (const url of refused) {
      const res = await api.post('/v1/webhooks/endpoints', { url });
      expect(res.status, url).toBe(400);
      expect(res.body.error.code, url).toBe('validation_error');
      expect(res.body.error.issues, url).toEqual([{ path: 'url', message: expect.stringContaining(url) }]);
      expect(res.body.error.issues[0].message, url).toMatch(/(loopback|private|link-local|multicast|unspecified) address; webhooks are delivered to public addresses only/);
    }
    const byName = await api.post('/v1/webhooks/endpoints', { url: 'https://localhost:3001/metrics' });
    expect(byName.body.error.issues[0].message).toMatch(/localhost resolves to (127\.0\.0\.1|::1), a loopback address/);

    // plain http is for deployments that allow it (WEBHOOK_ALLOW_HTTP), even to a public address
    const http = await api.post('/v1/webhooks/endpoints', { url: 'http://93.184.216.34/hook' });
    expect(http.status).toBe(400);
    expect(http.body.error.issues[0]).toEqual({ path: 'url', message: expect.stringMatching(/http:\/\/93\.184\.216\.34\/hook: must be an https URL/) });
    expect(await endpointsOf(tenantId)).toBe(0);

    // a public https target is accepted
    const ok = await api.post('/v1/webhooks/endpoints', { url: 'https://93.184.216.34/hook' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(await endpointsOf(tenantId)).toBe(1);
  });
});

describe('delivery', () => {
  it('an endpoint registered where loopback was allowed is blocked by workers where it is not: nothing reaches the receiver, the log says blocked', { timeout: 120_000 }, async () => {
    const receiver = await webhookReceiver();
    try {
      const { tenantId, api } = await billingTenant(allowedApi.url);
      const port = new URL(receiver.url).port;
      const urls = [receiver.url, `http://localhost:${port}/hooks`, `http://2130706433:${port}/hooks`];
      const ids: string[] = [];
      for (const url of urls) {
        const made = await api.post('/v1/webhooks/endpoints', { url, events: ['purchase.completed'] });
        expect(made.status, JSON.stringify(made.body)).toBe(201);
        ids.push(made.body.id);
      }
      // workers for this Redis database that allow http but not private targets
      started.push(await startApp('workers', ownEnv({ WEBHOOK_ALLOW_HTTP: 'true', PUBLIC_URL: allowedApi.url })));
      const customer = await newCustomer(api);
      await saveCard(api, customer);
      const bought = await buyNow(api, { customer, pack: '500-ai-credits' });
      expect(bought.body.status ?? bought.body.purchase?.status, JSON.stringify(bought.body)).toBe('completed');

      const rows = await eventually(async () => {
        const { rows } = await db.query<{ status: string; last_error: string | null; response_status: number | null; attempts: number }>(
          'SELECT status, last_error, response_status, attempts FROM webhook_deliveries WHERE tenant_id = $1 ORDER BY endpoint_id',
          [tenantId],
        );
        return rows.length === urls.length && rows.every((r) => r.status !== 'pending') ? rows : null;
      }, 60_000);
      for (const row of rows) expect(row).toEqual({ status: 'failed', last_error: 'blocked', response_status: null, attempts: 1 });
      await new Promise((r) => setTimeout(r, 1_000));
      expect(receiver.received).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it('a failing target shows its status class, not its status (shared stack, local targets allowed)', { timeout: 90_000 }, async () => {
    const receiver = await webhookReceiver([503, 418]);
    try {
      const { tenantId, api } = await billingTenant();
      await api.post('/v1/webhooks/endpoints', { url: receiver.url, events: ['purchase.completed'] });
      const customer = await newCustomer(api);
      await saveCard(api, customer);
      await buyNow(api, { customer, pack: '500-ai-credits' });
      const seen: string[] = [];
      const final = await eventually(async () => {
        const { rows } = await db.query<{ status: string; last_error: string | null; response_status: number | null }>(
          'SELECT status, last_error, response_status FROM webhook_deliveries WHERE tenant_id = $1',
          [tenantId],
        );
        const row = rows[0];
        if (row?.last_error && seen.at(-1) !== row.last_error) seen.push(row.last_error);
        if (row?.status === 'pending') expect(row.response_status).toBeNull();
        return row?.status === 'succeeded' ? row : null;
      }, 60_000, 20);
      expect(seen.every((e) => e === '5xx' || e === '4xx')).toBe(true);
      expect(seen[0]).toBe('5xx');
      expect(final).toEqual({ status: 'succeeded', last_error: null, response_status: 200 });
      expect(receiver.received).toHaveLength(3);
    } finally {
      await receiver.close();
    }
  });
});
