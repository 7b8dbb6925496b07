import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { TenantService } from '@tally/catalog';
import { createClickHouse } from '@tally/clickhouse';
import { createPool, type Pool } from '@tally/postgres';
import { client, config, eventually } from './support/stack.ts';
import { clickhouseProxy } from './support/clickhouse-proxy.ts';
import { freePort, startApp } from './support/processes.ts';
import { privateStack, type PrivateStack } from './support/private-stack.ts';

/**
 * ClickHouse away while purchases complete and are refunded: they do not
 * fail or wait, and once it is back the mirror writes their latest state.
 * The stack has its own Postgres database (and Redis), so the shared test
 * workers, whose ClickHouse stays up, cannot mirror these purchases first.
 */
const clickhouse = createClickHouse({ url: config.CLICKHOUSE_URL, database: config.CLICKHOUSE_DATABASE, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });
const dbName = `tally_mirror_${randomUUID().slice(0, 8)}`;
const dbUrl = (() => {
  const u = new URL(config.DATABASE_URL);
  u.pathname = `/${dbName}`;
  return u.toString();
})();
let stack: PrivateStack | undefined;
let pool: Pool | undefined;

afterAll(async () => {
  await stack?.stop();
  await pool?.end();
  await clickhouse.close();
  const admin = createPool(config.DATABASE_URL, 1);
  await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => {});
  await admin.end();
});

const PACK = { slug: 'mirror-pack', name: 'Mirror pack', credits: 100, price: 1500, currency: 'USD', creditSystem: 'ai-credits' };

/** What ClickHouse shows per purchase of the tenant: the latest state (argMax by version) and its version. */
async function mirrored(tenantId: string) {
  expect(tenantId).toMatch(/^[0-9a-f-]{36}$/); // safe to inline
  const res = await clickhouse.query({
    query: `SELECT purchase_id, max(version) AS latest, argMax(amount_minor, version) AS amount, argMax(refunded_minor, version) AS refunded
              FROM ${config.CLICKHOUSE_DATABASE}.credit_pack_purchases_v1 FINAL WHERE tenant_id = '${tenantId}' GROUP BY purchase_id ORDER BY purchase_id`,
    format: 'JSONEachRow',
  });
  return res.json<{ purchase_id: string; latest: string; amount: string; refunded: string }>();
}

describe('purchase mirror: ClickHouse down', () => {
  it('completes and refunds without ClickHouse, then mirrors the latest state of each purchase once it is back', async () => {
    const port = await freePort();
    const proxy = await clickhouseProxy(port);
    // only the workers (where the mirror runs) reach ClickHouse through the proxy
    stack = await privateStack({ apis: 1, workers: 0, env: { DATABASE_URL: dbUrl } });
    stack.workers.push(await startApp('workers', { ...stack.env, CLICKHOUSE_URL: `http://127.0.0.1:${port}` }));
    pool = createPool(dbUrl, 2);
    const tenant = await new TenantService(pool).createTenant(`mirror-outage-${Date.now()}`);
    const api = client(tenant.apiKey.secret, stack.apis[0]!.url);
    const sync = await api.post('/v1/sync', {
      defaultProvider: 'sandbox',
      features: [{ slug: 'gpt4', type: 'metered', name: 'GPT-4' }],
      creditSystems: [{ slug: 'ai-credits', name: 'AI credits', features: [{ feature: 'gpt4', creditCost: 20 }] }],
      creditPacks: [PACK],
      plans: [],
    });
    expect(sync.status, JSON.stringify(sync.body)).toBe(200);
    expect((await api.post('/v1/customers', { id: 'c1', email: 'c1@example.com' })).status).toBeLessThan(300);

    const buy = async () => {
      const addon = await api.post('/v1/addon', { customer: 'c1', pack: PACK.slug });
      expect(addon.status, JSON.stringify(addon.body)).toBe(200);
      const form = new URLSearchParams({ cardNumber: '4242424242424242', expiry: '12/34', cvc: '123' });
      expect((await fetch(addon.body.checkoutUrl, { method: 'POST', body: form, redirect: 'manual' })).status).toBe(303);
      await eventually(async () => (await api.get(`/v1/purchases/${addon.body.reference}`)).body.status === 'completed', 15_000, 100);
      return addon.body.reference as string;
    };

    // With ClickHouse up, a purchase is mirrored within seconds.
    const first = await buy();
    await eventually(async () => (await mirrored(tenant.tenantId)).length === 1, 10_000, 200);

    await proxy.down();
    const second = await buy(); // completes with ClickHouse away (within the 15 s above, not after a retry)
    const refund = await api.post(`/v1/purchases/${first}/refund`);
    expect(refund.status, JSON.stringify(refund.body)).toBe(200);
    expect(refund.body.amount).toBe(PACK.price); // nothing of it was spent
    // Postgres knows what ClickHouse lacks ...
    const { rows } = await pool.query<{ id: string; mirror_version: bigint; mirrored_version: bigint }>(
      'SELECT id, mirror_version, mirrored_version FROM purchases WHERE tenant_id = $1 ORDER BY id',
      [tenant.tenantId],
    );
    expect(Object.fromEntries(rows.map((r) => [r.id, [r.mirror_version, r.mirrored_version]]))).toEqual({ [first]: [2n, 1n], [second]: [1n, 0n] });
    // ... and ClickHouse still shows the first purchase unrefunded, the second not at all.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await mirrored(tenant.tenantId)).toEqual([{ purchase_id: first, latest: '1', amount: String(PACK.price), refunded: '0' }]);

    await proxy.up();
    const expected = [
      { purchase_id: first, latest: '2', amount: String(PACK.price), refunded: String(PACK.price) },
      { purchase_id: second, latest: '1', amount: String(PACK.price), refunded: '0' },
    ].sort((a, b) => (a.purchase_id < b.purchase_id ? -1 : 1));
    // the 10 s sweep catches up (no NOTIFY is sent when ClickHouse returns)
    await eventually(async () => JSON.stringify(await mirrored(tenant.tenantId)) === JSON.stringify(expected), 30_000, 250);
    // the mirror inserts first and marks Postgres second, so the mark may trail what ClickHouse shows
    const behind = async () =>
      (await pool!.query<{ n: number }>('SELECT count(*)::int AS n FROM purchases WHERE tenant_id = $1 AND mirror_version > mirrored_version', [tenant.tenantId]))
        .rows[0]!.n;
    await eventually(async () => (await behind()) === 0, 30_000, 200);
    expect(await behind()).toBe(0);
    await proxy.down();
  }, 120_000);
});
