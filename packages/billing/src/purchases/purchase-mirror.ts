import type { MirroredPurchase } from '@tally/contracts';
import type { Pool } from '@tally/postgres';
import type { Logger } from '@tally/runtime';

/** Writes a batch to ClickHouse; throws if it did not (the batch stays pending and is tried again). */
export type MirrorSink = (rows: MirroredPurchase[]) => Promise<void>;

/** Any constant: only one sweep at a time across workers processes (a duplicate would only be a wasted insert). */
const MIRROR_LOCK = 7_240_215;

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

/**
 * Keeps ClickHouse's credit_pack_purchases_v1 equal to Postgres: every
 * purchase whose `mirror_version` (bumped by a trigger when it completes or
 * is refunded, migration 0012) is ahead of `mirrored_version` is written with
 * that version, then marked. Nothing here runs inside a purchase or refund:
 * ClickHouse down only leaves rows pending until a later sweep.
 *
 * Order: read a batch (one snapshot: status, refund and version agree) →
 * insert → mark `mirrored_version = version` only where it is still lower. A
 * purchase refunded between the read and the mark keeps its newer version
 * pending; a crash between insert and mark re-inserts the same version,
 * which ReplacingMergeTree collapses.
 */
export class PurchaseMirror {
  private running: Promise<number> | null = null;
  private again = false;

  constructor(
    private readonly pool: Pool,
    private readonly sink: MirrorSink,
    private readonly logger: Logger,
    private readonly batchSize = 500,
  ) {}

  /** The purchases ClickHouse does not show in their current state yet. */
  async pending(limit = this.batchSize): Promise<MirroredPurchase[]> {
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

  /**
   * Writes everything pending, batch after batch; answers how many rows it
   * wrote. Calls while one runs are folded into one more pass after it, so
   * a purchase committed during a sweep is not left to the next timer.
   */
  sync(): Promise<number> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      let written = 0;
      try {
        do {
          this.again = false;
          written += await this.sweepLocked();
        } while (this.again);
        return written;
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Resolves once no sweep runs (shutdown waits for the current one; it starts none). */
  async settled(): Promise<void> {
    this.again = false;
    await this.running?.catch(() => 0);
  }

  private async sweepLocked(): Promise<number> {
    const lock = await this.pool.connect();
    let broken = false;
    try {
      const { rows } = await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [MIRROR_LOCK]).catch((err: unknown) => {
        broken = true;
        throw err;
      });
      // Another process sweeps; it is notified of the same commits, so it picks this one up too.
      if (!rows[0]?.ok) return 0;
      try {
        return await this.sweep();
      } finally {
        // a connection that cannot unlock is dropped, which releases the lock too
        await lock.query('SELECT pg_advisory_unlock($1)', [MIRROR_LOCK]).catch(() => (broken = true));
      }
    } finally {
      lock.release(broken);
    }
  }

  private async sweep(): Promise<number> {
    let written = 0;
    for (;;) {
      const batch = await this.pending();
      if (batch.length === 0) return written;
      await this.sink(batch);
      await this.pool.query(
        `UPDATE purchases p SET mirrored_version = m.version
           FROM unnest($1::uuid[], $2::bigint[]) AS m(id, version)
          WHERE p.id = m.id AND p.mirrored_version < m.version`,
        [batch.map((b) => b.purchaseId), batch.map((b) => b.version.toString())],
      );
      written += batch.length;
      this.logger.debug({ purchases: batch.length }, 'purchases mirrored to clickhouse');
      if (batch.length < this.batchSize) return written;
    }
  }
}
