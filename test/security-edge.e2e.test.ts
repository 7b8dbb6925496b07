import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { keysMain } from '@tally/sdk';
import { startApp, type AppProcess } from './support/processes.ts';
import { METRICS_TOKEN, opsHeaders } from './support/ops.ts';
import { apiUrl, client, newTenant, type Answer } from './support/stack.ts';

/**
 * The API edge under the security review's findings. Process A is the shared
 * stack's API; process B is a second API on the same stores with small limits,
 * so a revocation on A must reach B, and the limits bite after a few requests.
 */
const AUTH_FAILURES = 5;
const CUSTOMERS = 3;
let b: AppProcess;

beforeAll(async () => {
  b = await startApp('api', { ...inject('stackEnv'), AUTH_FAILURES_PER_MINUTE: String(AUTH_FAILURES), CUSTOMERS_PER_MINUTE: String(CUSTOMERS) });
});
afterAll(async () => {
  await b?.stop();
});

const cli = async (args: string[], secret: string) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await keysMain(args, { TALLY_API_KEY: secret, TALLY_API_URL: apiUrl() }, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
};

describe('API keys: list, create, revoke', () => {
  it('a key revoked on API process A is refused by API process B on the very next request', async () => {
    const tenant = await newTenant('keys-revoke');
    const onA = client(tenant.apiKey.secret);
    const created = await onA.post('/v1/api-keys', { name: 'ci' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const secret: string = created.body.apiKey.secret;
    expect(secret).toMatch(/^sk_test_[0-9A-Za-z]{32}$/);
    // B authenticates the new key once and holds it in its cache
    const onB = client(secret, b.url);
    expect((await onB.get('/v1/plans')).status).toBe(200);
    expect((await onB.get('/v1/plans')).status).toBe(200);

    const revoked = await onA.del(`/v1/api-keys/${created.body.apiKey.id}`);
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
    expect(revoked.body.apiKey).toMatchObject({ id: created.body.apiKey.id, revokedAt: expect.any(String) });
    const next = await onB.get('/v1/plans');
    expect(next.status).toBe(401);
    expect(next.body.error.code).toBe('unauthorized');
    expect((await client(secret).get('/v1/plans')).status).toBe(401);
    // the key that revoked it still works on both
    expect((await client(tenant.apiKey.secret, b.url).get('/v1/plans')).status).toBe(200);
  });

  it('lists the tenant’s keys without secrets, refuses self-revocation, other tenants’ ids and bad input', async () => {
    const tenant = await newTenant('keys-list');
    const other = await newTenant('keys-other');
    const api = client(tenant.apiKey.secret);
    const second = await api.post('/v1/api-keys', {});
    expect(second.status).toBe(201);
    expect(second.body.apiKey).toMatchObject({ name: 'default', environment: 'test', revokedAt: null, current: false });

    const list = await api.get('/v1/api-keys');
    expect(list.status).toBe(200);
    expect(list.body.apiKeys.map((k: { id: string }) => k.id).sort()).toEqual([tenant.apiKey.id, second.body.apiKey.id].sort());
    const mine = list.body.apiKeys.find((k: { id: string }) => k.id === tenant.apiKey.id);
    expect(mine).toEqual({ id: tenant.apiKey.id, name: 'default', prefix: tenant.apiKey.secret.slice(0, 12), environment: 'test', createdAt: expect.any(String), revokedAt: null, expiresAt: null, tenantId: tenant.tenantId, current: true });
    const text = JSON.stringify(list.body);
    expect(text).not.toContain(tenant.apiKey.secret);
    expect(text).not.toContain(second.body.apiKey.secret);

    const self = await api.del(`/v1/api-keys/${tenant.apiKey.id}`);
    expect(self.status).toBe(409);
    expect(self.body.error.code).toBe('cannot_revoke_current_key');
    const foreign = await client(other.apiKey.secret).del(`/v1/api-keys/${second.body.apiKey.id}`);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('api_key_not_found');
    expect((await client(second.body.apiKey.secret).get('/v1/plans')).status).toBe(200);
    expect((await client(other.apiKey.secret).get('/v1/api-keys')).body.apiKeys).toHaveLength(1);
    const badId = await api.del('/v1/api-keys/not-a-uuid');
    expect(badId.status).toBe(400);
    const badBody = await api.post('/v1/api-keys', { name: 'x', environment: 'live' });
    expect(badBody.status).toBe(400);
    expect((await api.get('/v1/api-keys')).body.apiKeys).toHaveLength(2);

    // revoking twice changes nothing the second time
    const first = await api.del(`/v1/api-keys/${second.body.apiKey.id}`);
    const again = await api.del(`/v1/api-keys/${second.body.apiKey.id}`);
    expect(again.status).toBe(200);
    expect(again.body.apiKey.revokedAt).toBe(first.body.apiKey.revokedAt);
  });

  it('tally keys create | list | revoke', async () => {
    const tenant = await newTenant('keys-cli');
    const created = await cli(['create', '--name', 'deploy', '--json'], tenant.apiKey.secret);
    expect(created.code, created.stderr).toBe(0);
    const key = JSON.parse(created.stdout).apiKey;
    expect(key).toMatchObject({ name: 'deploy', secret: expect.stringMatching(/^sk_test_/) });
    const listed = await cli(['list'], tenant.apiKey.secret);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`${key.id}  ${key.prefix}…  test`);
    expect(listed.stdout).toContain('(this key)');
    expect(listed.stdout).not.toContain(key.secret);
    const revoked = await cli(['revoke', key.id], tenant.apiKey.secret);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain(`revoked ${key.id}`);
    const self = await cli(['revoke', tenant.apiKey.id], tenant.apiKey.secret);
    expect(self.code).toBe(1);
    expect(self.stderr).toContain('cannot_revoke_current_key');
    expect((await cli(['revoke'], tenant.apiKey.secret)).code).toBe(2);
  });
});

/** A POST that announces `total` bytes and sends only `sent` of them, then waits for an answer. */
function partialUpload(url: string, path: string, headers: Record<string, string>, total: number, sent: number) {
  return new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': String(total), ...headers } });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body });
        req.destroy();
      });
    });
    req.on('error', reject);
    req.write(Buffer.alloc(sent, 0x20));
    // the rest never comes: only a server that answers before reading the body can answer at all
    setTimeout(() => reject(new Error('no answer while the body was incomplete')), 20_000).unref();
  });
}

describe('bodies and authentication', () => {
  it('answers a 5 MB upload without a key with 401 before the body was sent, and closes the connection', async () => {
    const res = await partialUpload(apiUrl(), '/v1/track/batch', {}, 5 * 1024 * 1024 - 1, 64 * 1024);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body).error.code).toBe('unauthorized');
    expect(res.connection).toBe('close');
  });

  it('with a key: unknown Content-Encoding or charset is 415, a body that is not JSON is 415', async () => {
    const { apiKey } = await newTenant('bodies');
    const post = (headers: Record<string, string>, body = '{"customer":"c","feature":"f"}') =>
      fetch(`${apiUrl()}/v1/check`, { method: 'POST', headers: { Authorization: `Bearer ${apiKey.secret}`, ...headers }, body }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error: { code: string; message: string } } }));
    const encoding = await post({ 'Content-Type': 'application/json', 'Content-Encoding': 'x-foo' });
    expect(encoding.status).toBe(415);
    expect(encoding.body.error.message).toContain('x-foo');
    const charset = await post({ 'Content-Type': 'application/json; charset=x-unknown' });
    expect(charset.status).toBe(415);
    const xml = await post({ 'Content-Type': 'application/xml' }, '<check/>');
    expect(xml.status).toBe(415);
    expect(xml.body.error).toMatchObject({ code: 'unsupported_media_type', message: expect.stringContaining('application/json') });
  });
});

describe('operator endpoints', () => {
  it('serve /metrics and readiness details with METRICS_TOKEN only; /healthz and a bare /readyz stay public', async () => {
    for (const base of [apiUrl(), inject('workersUrl')]) {
      const anonymous = await fetch(`${base}/metrics`);
      expect(anonymous.status, base).toBe(401);
      const wrong = await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}-wrong` } });
      expect(wrong.status).toBe(401);
      const metrics = await fetch(`${base}/metrics`, { headers: opsHeaders });
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('process_cpu');
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ ok: true });
      const detailed = (await (await fetch(`${base}/readyz`, { headers: opsHeaders })).json()) as { checks: Record<string, { ok: boolean }> };
      expect(Object.keys(detailed.checks).sort()).toEqual(['clickhouse', 'kafka', 'postgres', 'redis']);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    }
  });

  it('turn /metrics off when no token is configured', async () => {
    const { METRICS_TOKEN: _token, ...env } = inject('stackEnv');
    const bare = await startApp('api', env);
    try {
      expect((await fetch(`${bare.url}/metrics`, { headers: opsHeaders })).status).toBe(404);
      expect(await (await fetch(`${bare.url}/readyz`, { headers: opsHeaders })).json()).toEqual({ ok: true });
    } finally {
      await bare.stop();
    }
  });
});

describe('customers created per minute (B: CUSTOMERS_PER_MINUTE=3)', () => {
  it('creates new customers up to the cap; the events of the others are rejected, a single call is 429', async () => {
    const tenant = await newTenant('customer-cap');
    const api = client(tenant.apiKey.secret, b.url);
    const synced = await api.post('/v1/sync', { features: [{ slug: 'calls', type: 'metered', name: 'Calls' }], creditSystems: [], creditPacks: [], plans: [] });
    expect(synced.status, JSON.stringify(synced.body)).toBe(200);
    // an existing customer (explicit creation is not counted) is never held back
    expect((await api.post('/v1/customers', { id: 'known', email: 'known@example.com' })).status).toBe(200);
    const fresh = Array.from({ length: 5 }, (_, i) => `new-${i}`);
    const events = [...fresh, 'known'].map((customer) => ({ id: randomUUID(), customer, feature: 'calls', value: 1 }));
    const batch = await api.post('/v1/track/batch', { events });
    expect(batch.status, JSON.stringify(batch.body)).toBe(200);
    expect(batch.body).toMatchObject({ accepted: CUSTOMERS + 1, rejected: fresh.length - CUSTOMERS });
    type R = { index: number; status: string; error?: { code: string } };
    const results = batch.body.results as R[];
    expect(results[5]!.status).toBe('accepted');
    const refused = results.filter((r) => r.status === 'rejected');
    for (const r of refused) expect(r.error?.code).toBe('customer_rate_limited');
    for (const r of results.slice(0, 5)) {
      const exists = (await api.get(`/v1/customers/${fresh[r.index]}`)).status;
      expect(exists, `${fresh[r.index]} ${r.status}`).toBe(r.status === 'accepted' ? 200 : 404);
    }

    const single = await api.post('/v1/track', { id: randomUUID(), customer: 'new-single', feature: 'calls', value: 1 });
    expect(single.status).toBe(429);
    expect(single.body.error.code).toBe('customer_rate_limited');
    expect(Number(single.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(single.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    // the customers that exist still track
    const known = await api.post('/v1/track', { id: randomUUID(), customer: 'known', feature: 'calls', value: 1 });
    expect(known.status, JSON.stringify(known.body)).toBe(200);
    // another tenant has its own budget
    const otherTenant = await newTenant('customer-cap-other');
    const other = client(otherTenant.apiKey.secret, b.url);
    expect((await other.post('/v1/sync', { features: [{ slug: 'calls', type: 'metered', name: 'Calls' }], creditSystems: [], creditPacks: [], plans: [] })).status).toBe(200);
    expect((await other.post('/v1/track', { id: randomUUID(), customer: 'new-0', feature: 'calls', value: 1 })).status).toBe(200);
  });
});

// Last: it leaves 127.0.0.1 over B's limit for the rest of the minute.
describe('refused keys per client address (B: AUTH_FAILURES_PER_MINUTE=5)', () => {
  it('answers 429 with Retry-After past the limit without looking keys up, and keeps serving keys it knows', async () => {
    const tenant = await newTenant('auth-limit');
    const known = client(tenant.apiKey.secret, b.url);
    expect((await known.get('/v1/plans')).status).toBe(200);
    const statuses: number[] = [];
    let limited: Answer<{ error: { code: string } }> | undefined;
    // the counter is shared with every API process on these stores, so 429 may come sooner, never later
    for (let i = 0; i <= AUTH_FAILURES && !limited; i++) {
      const res = await client(`sk_test_${randomUUID().replace(/-/g, '')}`, b.url).get('/v1/plans');
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(AUTH_FAILURES);
    expect(limited?.body.error.code).toBe('too_many_failed_authentications');
    const wait = Number(limited?.headers.get('retry-after'));
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(60);
    // a valid key B has not seen waits too (it would cost a lookup); the one it holds does not
    const fresh = await client((await newTenant('auth-limit-fresh')).apiKey.secret, b.url).get('/v1/plans');
    expect(fresh.status).toBe(429);
    expect((await known.get('/v1/plans')).status).toBe(200);
  });
});
