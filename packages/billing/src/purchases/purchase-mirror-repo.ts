import type { MirroredPurchase } from '@tally/contracts';
import type { Pool } from '@tally/postgres';

/** Any constant: only one sweep at a time across workers processes (a duplicate would only be a wasted insert). */
const MIRROR_LOCK = 7_240_215;

export interface PurchaseMirrorStore {
  /** Completed (or refunded) purchases whose mirror_version is ahead of mirrored_version, in one snapshot. */
  pending(limit: number): Promise<MirroredPurchase[]>;
  /** Marks each written version, only where the mark is still lower (a newer version stays pending). */
  markMirrored(batch: MirroredPurchase[]): Promise<void>;
  /** Runs `fn` holding the cluster-wide sweep lock; null without running it when another process holds it. */
  withSweepLock<T>(fn: () => Promise<T>): Promise<T | null>;
}

interface Row {
  tenant_id: string;
  id: string;
  customer_id: string;
  pack_slug: string;
  credit_system: string;
  quantity: number;
  credits_micro: bigint;
  amount_minor: bigint;
  refunded_minor: bigint | null;
  revoked_micro: bigint | null;
  currency: string;
  provider: string;
  completed_at: Date;
  mirror_version: bigint;
}

/** The Postgres side of the purchase mirror: the versions (migration 0012) and a session advisory lock. */
export class PurchaseMirrorRepo implements PurchaseMirrorStore {
  constructor(private readonly pool: Pool) {}

  async pending(limit: number): Promise<MirroredPurchase[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT p.tenant_id, p.id, p.customer_id, p.pack_slug, p.credit_system, p.quantity, p.credits_micro, p.amount_minor,
              r.amount_minor AS refunded_minor, r.revoked_micro, p.currency, p.provider, p.completed_at, p.mirror_version
         FROM purchases p LEFT JOIN refunds r ON r.tenant_id = p.tenant_id AND r.purchase_id = p.id
        WHERE p.mirror_version > p.mirrored_version AND p.completed_at IS NOT NULL
        LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({
      tenantId: r.tenant_id,
      purchaseId: r.id,
      customerId: r.customer_id,
      pack: r.pack_slug,
      creditSystem: r.credit_system,
      quantity: r.quantity,
      creditsMicro: r.credits_micro,
      amountMinor: r.amount_minor,
      refundedMinor: r.refunded_minor ?? 0n,
      revokedMicro: r.revoked_micro ?? 0n,
      currency: r.currency,
      provider: r.provider,
      completedAt: r.completed_at,
      version: r.mirror_version,
    }));
  }

  async markMirrored(batch: MirroredPurchase[]): Promise<void> {
    await this.pool.query(
      `UPDATE purchases p SET mirrored_version = m.version
         FROM unnest($1::uuid[], $2::bigint[]) AS m(id, version)
        WHERE p.id = m.id AND p.mirrored_version < m.version`,
      [batch.map((b) => b.purchaseId), batch.map((b) => b.version.toString())],
    );
  }

  async withSweepLock<T>(fn: () => Promise<T>): Promise<T | null> {
    const lock = await this.pool.connect();
    let broken = false;
    try {
      const { rows } = await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [MIRROR_LOCK]).catch((err: unknown) => {
        broken = true;
        throw err;
      });
      if (!rows[0]?.ok) return null;
      try {
        return await fn();
      } finally {
        // a connection that cannot unlock is dropped, which releases the lock too
        await lock.query('SELECT pg_advisory_unlock($1)', [MIRROR_LOCK]).catch(() => (broken = true));
      }
    } finally {
      lock.release(broken);
    }
  }
}
