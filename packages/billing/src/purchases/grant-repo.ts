import type { Pool, Queryable } from '@tally/postgres';
import type { Purchase } from './purchase-repo.ts';

/** A purchase's row in the grants ledger (credit_grants; id = purchase id). */
export interface LedgerGrant {
  grantedAt: Date;
  expiresAt: Date | null;
  creditsMicro: bigint;
}

export interface GrantLedger {
  /** Writes the purchase's ledger row once (a second call is a no-op). */
  recordPurchase(db: Queryable, p: Purchase): Promise<void>;
  get(tenantId: string, grantId: string): Promise<LedgerGrant | null>;
}

/** credit_grants in Postgres, the system of record the Redis balance is rebuilt from. */
export class GrantRepo implements GrantLedger {
  constructor(private readonly pool: Pool) {}

  async recordPurchase(db: Queryable, p: Purchase): Promise<void> {
    // A pack with a validity (expires_after_days) makes the grant expire that many days after it
    // is granted (now() is the transaction's instant, the same for both columns).
    await db.query(
      `INSERT INTO credit_grants (id, tenant_id, customer_id, credit_system, purchase_id, source, credits_micro, granted_at, expires_at)
       VALUES ($1, $2, $3, $4, $1, $5, $6, now(),
               now() + (SELECT make_interval(days => expires_after_days) FROM credit_packs WHERE tenant_id = $2 AND id = $7))
       ON CONFLICT (id) DO NOTHING`,
      [p.id, p.tenantId, p.customerId, p.creditSystem, p.source, p.creditsMicro, p.packId],
    );
  }

  async get(tenantId: string, grantId: string): Promise<LedgerGrant | null> {
    const { rows } = await this.pool.query<{ granted_at: Date; expires_at: Date | null; credits_micro: bigint }>(
      'SELECT granted_at, expires_at, credits_micro FROM credit_grants WHERE tenant_id = $1 AND id = $2',
      [tenantId, grantId],
    );
    const r = rows[0];
    return r ? { grantedAt: r.granted_at, expiresAt: r.expires_at, creditsMicro: r.credits_micro } : null;
  }
}
