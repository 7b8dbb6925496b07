import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenantService } from '@tally/catalog';
import { createPool, ensureDatabase, migratePostgres, type Pool } from '@tally/postgres';
import { createLogger, parseConfig, sharedEnv } from '@tally/runtime';
import type { MirroredPurchase } from '@tally/contracts';
import { PurchaseMirror } from './purchase-mirror.ts';
import { PurchaseMirrorRepo } from './purchase-mirror-repo.ts';

/**
 * The Postgres half of the mirror (trigger, selection, marking) on a database
 * of its own: the shared one is swept by any running test workers, which
 * would mirror these purchases first. The sink stands in for the ClickHouse
 * writer (test/purchase-mirror-outage.e2e.test.ts covers the real one).
 */
const config = parseConfig(sharedEnv);
const url = (() => {
  const u = new URL(config.DATABASE_URL);
  u.pathname = `/tally_mirror_int_${randomUUID().slice(0, 8)}`;
  return u.toString();
})();
let pool: Pool;
let tenantId: string;
const logger = createLogger('test', 'silent');

beforeAll(async () => {
  await ensureDatabase(url);
  pool = createPool(url, 4);
  await migratePostgres(pool);
  tenantId = (await new TenantService(pool).createTenant(`mirror-int-${Date.now()}`)).tenantId;
});
afterAll(async () => {
  await pool?.end();
  const admin = createPool(config.DATABASE_URL, 1);
  await admin.query(`DROP DATABASE IF EXISTS "${new URL(url).pathname.slice(1)}" WITH (FORCE)`).catch(() => {});
  await admin.end();
});

/** A purchase moved along its statuses as billing does (guarded UPDATEs of status only). */
async function purchase(amountMinor: bigint, statuses: string[]): Promise<string> {
  const id = randomUUID();
  await pool.query(
    `INSERT INTO purchases (id, tenant_id, customer_id, pack_id, pack_slug, credit_system, quantity, credits_micro, amount_minor, currency, provider, status)
     VALUES ($1, $2, 'c1', $3, 'starter', 'ai-credits', 2, 200000000, $4, 'USD', 'sandbox', 'pending')`,
    [id, tenantId, randomUUID(), amountMinor],
  );
  for (const s of statuses) await moveTo(id, s);
  return id;
}

async function moveTo(id: string, status: string) {
  await pool.query(`UPDATE purchases SET status = $2, completed_at = CASE WHEN $2 = 'completed' THEN now() ELSE completed_at END WHERE id = $1`, [id, status]);
}

async function refund(id: string, amountMinor: bigint) {
  await pool.query(
    `INSERT INTO refunds (id, tenant_id, purchase_id, amount_minor, revoked_micro, spent_micro, provider_refund_id) VALUES ($1, $2, $3, $4, 0, 0, 'r')`,
    [randomUUID(), tenantId, id, amountMinor],
  );
  await moveTo(id, 'refunded');
}

const versions = async (id: string) =>
  (await pool.query<{ v: bigint; m: bigint }>('SELECT mirror_version AS v, mirrored_version AS m FROM purchases WHERE id = $1', [id])).rows[0];

describe('purchase mirror (Postgres side)', () => {
  it('versions completion and refund only, writes each state once, and keeps a refund that lands mid-write pending', async () => {
    const written: MirroredPurchase[] = [];
    let duringWrite: (() => Promise<void>) | null = null;
    let down = false;
    const mirror = new PurchaseMirror(new PurchaseMirrorRepo(pool), async (rows) => {
      if (down) throw new Error('clickhouse unreachable');
      written.push(...rows);
      const hook = duringWrite;
      duringWrite = null;
      await hook?.();
    }, logger);

    const failed = await purchase(700n, ['charging', 'failed']);
    const a = await purchase(1000n, ['awaiting_payment', 'paid', 'completed']);
    await pool.query(`UPDATE purchases SET metadata = '{"x":1}' WHERE id = $1`, [a]); // not a status change
    expect(await versions(failed)).toEqual({ v: 0n, m: 0n });
    expect(await versions(a)).toEqual({ v: 1n, m: 0n });

    // ClickHouse down: nothing is marked, the next sync writes it.
    down = true;
    await expect(mirror.sync()).rejects.toThrow('clickhouse unreachable');
    expect(await versions(a)).toEqual({ v: 1n, m: 0n });
    down = false;
    expect(await mirror.sync()).toBe(1);
    expect(written.map((r) => [r.purchaseId, r.version, r.amountMinor, r.refundedMinor, r.creditsMicro, r.quantity])).toEqual([[a, 1n, 1000n, 0n, 200_000_000n, 2]]);
    expect(await versions(a)).toEqual({ v: 1n, m: 1n });
    expect(await mirror.sync()).toBe(0);

    // B completes; while its row is being written, it is refunded: the written version is marked, the refund stays pending.
    const b = await purchase(1500n, ['paid', 'completed']);
    duringWrite = () => refund(b, 600n);
    written.length = 0;
    await mirror.sync();
    expect(written.map((r) => [r.purchaseId, r.version, r.refundedMinor])).toEqual([[b, 1n, 0n]]);
    expect(await versions(b)).toEqual({ v: 2n, m: 1n });
    written.length = 0;
    expect(await mirror.sync()).toBe(1);
    expect(written.map((r) => [r.purchaseId, r.version, r.refundedMinor])).toEqual([[b, 2n, 600n]]);
    expect(await versions(b)).toEqual({ v: 2n, m: 2n });
  });

  it('writes in batches until nothing is pending', async () => {
    const ids = await Promise.all(Array.from({ length: 7 }, () => purchase(100n, ['paid', 'completed'])));
    const batches: number[] = [];
    const mirror = new PurchaseMirror(new PurchaseMirrorRepo(pool), async (rows) => void batches.push(rows.length), logger, 3);
    expect(await mirror.sync()).toBe(7);
    expect(batches).toEqual([3, 3, 1]);
    for (const id of ids) expect(await versions(id)).toEqual({ v: 1n, m: 1n });
  });
});
