import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageMain } from '@tally/sdk';
import { clickHouseFromEnv, type ClickHouseClient } from '@tally/clickhouse';
import { createPool, type Pool } from '@tally/postgres';
import { createApp } from '../app.ts';
import { loadApiConfig } from '../config.ts';
import { createApiContext, type ApiContext } from '../context.ts';

const TOKEN = 'admin-int-test-token-0123456789';
let ctx: ApiContext;
/** The test's own client: the context hands out services, not its clients. */
let clickhouse: ClickHouseClient;
let server: Server;
let pool: Pool;
let base: string;

beforeAll(async () => {
  ctx = await createApiContext(loadApiConfig({ ...process.env, LOG_LEVEL: 'silent', ADMIN_TOKEN: TOKEN }));
  const { config } = ctx;
  clickhouse = clickHouseFromEnv(config);
  pool = createPool(config.DATABASE_URL);
  server = createApp(ctx).app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await ctx?.close();
  await clickhouse?.close();
  await pool?.end();
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
    const { rows } = await pool.query('SELECT prefix, key_hash FROM api_keys WHERE id = $1', [body.apiKey.id]);
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

describe('POST /admin/tenants/:tenantId/usage/repair', () => {
  const repair = (auth: string | null, tenantId: string, body: unknown) =>
    fetch(`${base}/admin/tenants/${tenantId}/usage/repair`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(auth ? { Authorization: auth } : {}) },
      body: JSON.stringify(body),
    });
  const DAY = 86_400_000;

  it("corrects a tenant's rollups that counted a raw row twice, with the admin token only", async () => {
    const tenantId = (await ctx.tenants.createTenant(`admin-repair-${Date.now()}`)).tenantId;
    const noon = Math.floor(Date.now() / DAY) * DAY - 2 * DAY + 12 * 3_600_000;
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const range = { from: day(noon), to: day(noon + DAY) };
    const row = JSON.stringify({
      tenant_id: tenantId, customer_id: 'c1', feature: 'gpt-4', event_id: 'e1', value_micro: 1_000_000, credits_micro: 20_000_000,
      credits_plan_micro: 20_000_000, credits_purchased_micro: 0, credits_overage_micro: 0, credit_system: 'ai-credits', plan: 'pro',
      entity: '', properties: '{}', event_time: noon / 1000, ingested_at: noon / 1000, source: 'live', import_id: '', reverted: 0, version: 1,
    });
    const totals = async () => {
      const sum = async (table: string) => {
        const rows = await (await clickhouse.query({
          query: `SELECT toString(sum(events)) AS events FROM ${ctx.config.CLICKHOUSE_DATABASE}.${table} WHERE tenant_id = '${tenantId}'`,
          format: 'JSONEachRow',
        })).json<{ events: string }>();
        return Number(rows[0]?.events ?? 0);
      };
      return { hour: await sum('usage_per_hour_v1'), day: await sum('usage_per_day_v1') };
    };
    // the row, then a replay's copy of it: the views count it twice
    for (let i = 0; i < 2; i++) await clickhouse.insert({ table: `${ctx.config.CLICKHOUSE_DATABASE}.raw_usage_events_v1`, values: [JSON.parse(row)], format: 'JSONEachRow' });
    expect(await totals()).toEqual({ hour: 2, day: 2 });

    for (const auth of [null, `Bearer ${TOKEN}x`, `Bearer ${(await ctx.tenants.createTenant(`admin-repair-key-${Date.now()}`)).apiKey.secret}`]) {
      const refused = await repair(auth, tenantId, range);
      expect(refused.status, String(auth)).toBe(401);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
    expect(await totals()).toEqual({ hour: 2, day: 2 });

    const repaired = await repair(`Bearer ${TOKEN}`, tenantId, range);
    expect(repaired.status).toBe(200);
    expect(await repaired.json()).toEqual({ success: true, ...range, corrected: 2 }); // one key per rollup table
    expect(await totals()).toEqual({ hour: 1, day: 1 });
    expect(await (await repair(`Bearer ${TOKEN}`, tenantId, range)).json()).toMatchObject({ corrected: 0 });

    // the CLI: `tally usage repair --tenant` with the admin token; without it, exit 2 and no call
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
    const argv = ['repair', '--tenant', tenantId, '--from', range.from, '--to', range.to];
    expect(await usageMain(argv, { TALLY_ADMIN_TOKEN: TOKEN, TALLY_API_URL: base }, io)).toBe(0);
    expect(lines).toEqual([`rollups ${range.from} .. ${range.to} (exclusive): 0 keys corrected`]);
    expect(await usageMain(argv, { TALLY_API_KEY: 'sk_test_x', TALLY_API_URL: base }, io)).toBe(2);
    expect(lines[1]).toContain('TALLY_ADMIN_TOKEN');
  });

  it('an unknown tenant is a 404, a bad range a 400 naming the field', async () => {
    const unknown = await repair(`Bearer ${TOKEN}`, '00000000-0000-4000-8000-000000000000', { from: '2026-11-01', to: '2026-11-02' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('tenant_not_found');
    const tenantId = (await ctx.tenants.createTenant(`admin-repair-bad-${Date.now()}`)).tenantId;
    const bad = await repair(`Bearer ${TOKEN}`, tenantId, { from: '2026-11-02', to: '2026-11-01' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { issues: { path: string }[] } }).error.issues.map((i) => i.path)).toEqual(['to']);
  });
});
