import { randomUUID } from 'node:crypto';
import type { Pool, Queryable } from '@tally/postgres';

/** A refund as recorded: the money given back, the credits taken back and the spent remainder. */
export interface RefundRecord {
  purchaseId: string;
  amountMinor: bigint;
  revokedMicro: bigint;
  spentMicro: bigint;
  createdAt: Date;
}

export interface NewRefund {
  tenantId: string;
  purchaseId: string;
  amountMinor: bigint;
  revokedMicro: bigint;
  spentMicro: bigint;
  providerRefundId: string;
}

/** What reads of purchases need of refunds. */
export interface RefundReads {
  ofPurchase(tenantId: string, purchaseId: string, db?: Queryable): Promise<RefundRecord | null>;
  ofPurchases(tenantId: string, purchaseIds: string[]): Promise<RefundRecord[]>;
}

export interface RefundStore extends RefundReads {
  /** Records the refund row (one per purchase). */
  insert(db: Queryable, r: NewRefund): Promise<void>;
  /** The ledger's side: how much of the grant was taken back. */
  recordRevoked(db: Queryable, tenantId: string, grantId: string, revokedMicro: bigint): Promise<void>;
}

interface Row {
  purchase_id: string;
  amount_minor: bigint;
  revoked_micro: bigint;
  spent_micro: bigint;
  created_at: Date;
}

const COLUMNS = 'purchase_id, amount_minor, revoked_micro, spent_micro, created_at';
const toRecord = (r: Row): RefundRecord => ({
  purchaseId: r.purchase_id,
  amountMinor: r.amount_minor,
  revokedMicro: r.revoked_micro,
  spentMicro: r.spent_micro,
  createdAt: r.created_at,
});

/** refunds (and credit_grants.revoked_micro) in Postgres. */
export class RefundRepo implements RefundStore {
  constructor(private readonly pool: Pool) {}

  async ofPurchase(tenantId: string, purchaseId: string, db: Queryable = this.pool): Promise<RefundRecord | null> {
    const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM refunds WHERE tenant_id = $1 AND purchase_id = $2`, [tenantId, purchaseId]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async ofPurchases(tenantId: string, purchaseIds: string[]): Promise<RefundRecord[]> {
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM refunds WHERE tenant_id = $1 AND purchase_id = ANY($2::uuid[])`, [
      tenantId,
      purchaseIds,
    ]);
    return rows.map(toRecord);
  }

  async insert(db: Queryable, r: NewRefund): Promise<void> {
    await db.query(
      `INSERT INTO refunds (id, tenant_id, purchase_id, amount_minor, revoked_micro, spent_micro, provider_refund_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [randomUUID(), r.tenantId, r.purchaseId, r.amountMinor, r.revokedMicro, r.spentMicro, r.providerRefundId],
    );
  }

  async recordRevoked(db: Queryable, tenantId: string, grantId: string, revokedMicro: bigint): Promise<void> {
    await db.query('UPDATE credit_grants SET revoked_micro = $3 WHERE tenant_id = $1 AND id = $2', [tenantId, grantId, revokedMicro]);
  }
}
