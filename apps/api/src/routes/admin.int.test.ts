import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../app.ts';
import { loadApiConfig } from '../config.ts';
import { createApiContext, type ApiContext } from '../context.ts';

const TOKEN = 'admin-int-test-token-0123456789';
let ctx: ApiContext;
let server: Server;
let base: string;

beforeAll(async () => {
  ctx = await createApiContext(loadApiConfig({ ...process.env, LOG_LEVEL: 'silent', ADMIN_TOKEN: TOKEN }));
  server = createApp(ctx).app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await ctx?.close();
});

const createTenant = (auth: string | null, body: unknown) =>
  fetch(`${base}/admin/tenants`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(auth ? { Authorization: auth } : {}) },
    body: JSON.stringify(body),
  });

describe('POST /admin/tenants', () => {
  it('creates a tenant whose key is shown once, works on /v1, and is stored only as a hash', async () => {
    const res = await createTenant(`Bearer ${TOKEN}`, { name: `admin-int-${Date.now()}`, environment: 'live' });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { tenantId: string; environment: string; apiKey: { id: string; prefix: string; secret: string } };
    expect(body.environment).toBe('live');
    expect(body.apiKey.secret).toMatch(/^sk_live_[0-9A-Za-z]{32}$/);
    expect(body.apiKey.secret.startsWith(body.apiKey.prefix)).toBe(true);
    const plans = await fetch(`${base}/v1/plans`, { headers: { Authorization: `Bearer ${body.apiKey.secret}` } });
    expect(plans.status).toBe(200);
    const { rows } = await ctx.pool.query('SELECT prefix, key_hash FROM api_keys WHERE id = $1', [body.apiKey.id]);
    expect(rows[0].prefix).toBe(body.apiKey.prefix);
    expect(Buffer.from(rows[0].key_hash).toString('utf8')).not.toContain(body.apiKey.secret);
    const stored = JSON.stringify(rows[0]);
    expect(stored).not.toContain(body.apiKey.secret.slice(12));
  });

  it('refuses a missing or wrong admin token, and a tenant key', async () => {
    expect((await createTenant(null, { name: 'x' })).status).toBe(401);
    expect((await createTenant(`Bearer ${TOKEN}x`, { name: 'x' })).status).toBe(401);
    const created = (await ctx.tenants.createTenant(`admin-int-key-${Date.now()}`)).apiKey.secret;
    expect((await createTenant(`Bearer ${created}`, { name: 'x' })).status).toBe(401);
  });
});
