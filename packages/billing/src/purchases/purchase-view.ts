import { fromMicro } from '@tally/core';
import type { Pool } from '@tally/postgres';
import type { PurchaseView } from '@tally/contracts';
import type { Purchase } from './purchase-repo.ts';

interface RefundRow {
  purchase_id: string;
  amount_minor: bigint;
  revoked_micro: bigint;
  spent_micro: bigint;
  created_at: Date;
}

const REFUND_COLUMNS = 'purchase_id, amount_minor, revoked_micro, spent_micro, created_at';

function toView(p: Purchase, refund: RefundRow | undefined): PurchaseView {
  return {
    success: true,
    reference: p.id,
    status: p.status,
    customer: p.customerId,
    pack: p.packSlug,
    creditSystem: p.creditSystem,
    quantity: p.quantity,
    credits: fromMicro(p.creditsMicro),
    amount: Number(p.amountMinor),
    currency: p.currency,
    provider: p.provider,
    source: p.source,
    checkoutUrl: p.checkoutUrl,
    failure: p.failureCode ? { code: p.failureCode, message: p.failureMessage ?? '' } : null,
    refund: refund
      ? {
          amount: Number(refund.amount_minor),
          revokedCredits: fromMicro(refund.revoked_micro),
          spentCredits: fromMicro(refund.spent_micro),
          createdAt: refund.created_at.toISOString(),
        }
      : null,
    createdAt: p.createdAt.toISOString(),
    completedAt: p.completedAt?.toISOString() ?? null,
  };
}

/** GET /v1/purchases/:reference, with the refund when there is one. */
export async function purchaseView(pool: Pool, p: Purchase): Promise<PurchaseView> {
  const { rows } = await pool.query<RefundRow>(`SELECT ${REFUND_COLUMNS} FROM refunds WHERE tenant_id = $1 AND purchase_id = $2`, [p.tenantId, p.id]);
  return toView(p, rows[0]);
}

/** The views of one tenant's page of purchases (GET /v1/purchases), in the same order; their refunds in one query. */
export async function purchaseViews(pool: Pool, tenantId: string, purchases: Purchase[]): Promise<PurchaseView[]> {
  if (purchases.length === 0) return [];
  const { rows } = await pool.query<RefundRow>(`SELECT ${REFUND_COLUMNS} FROM refunds WHERE tenant_id = $1 AND purchase_id = ANY($2::uuid[])`, [
    tenantId,
    purchases.map((p) => p.id),
  ]);
  const refunds = new Map(rows.map((r) => [r.purchase_id, r]));
  return purchases.map((p) => toView(p, refunds.get(p.id)));
}
