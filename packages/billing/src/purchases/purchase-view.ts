import { fromMicro } from '@tally/core';
import type { PurchaseView } from '@tally/contracts';
import type { RefundReads, RefundRecord } from '../refunds/refund-repo.ts';
import type { Purchase } from './purchase-repo.ts';

/** What was bought and paid, as the API answer and the purchase.* webhooks both show it. */
export const purchaseFigures = (p: Purchase) => ({
  pack: p.packSlug,
  creditSystem: p.creditSystem,
  quantity: p.quantity,
  credits: fromMicro(p.creditsMicro),
  amount: Number(p.amountMinor),
  currency: p.currency,
});

function toView(p: Purchase, refund: RefundRecord | null | undefined): PurchaseView {
  return {
    success: true,
    reference: p.id,
    status: p.status,
    customer: p.customerId,
    ...purchaseFigures(p),
    provider: p.provider,
    source: p.source,
    checkoutUrl: p.checkoutUrl,
    failure: p.failureCode ? { code: p.failureCode, message: p.failureMessage ?? '' } : null,
    refund: refund
      ? {
          amount: Number(refund.amountMinor),
          revokedCredits: fromMicro(refund.revokedMicro),
          spentCredits: fromMicro(refund.spentMicro),
          createdAt: refund.createdAt.toISOString(),
        }
      : null,
    createdAt: p.createdAt.toISOString(),
    completedAt: p.completedAt?.toISOString() ?? null,
  };
}

/** GET /v1/purchases/:reference, with the refund when there is one. */
export async function purchaseView(refunds: RefundReads, p: Purchase): Promise<PurchaseView> {
  return toView(p, await refunds.ofPurchase(p.tenantId, p.id));
}

/** The views of one tenant's page of purchases (GET /v1/purchases), in the same order; their refunds in one query. */
export async function purchaseViews(refunds: RefundReads, tenantId: string, purchases: Purchase[]): Promise<PurchaseView[]> {
  if (purchases.length === 0) return [];
  const byPurchase = new Map((await refunds.ofPurchases(tenantId, purchases.map((p) => p.id))).map((r) => [r.purchaseId, r]));
  return purchases.map((p) => toView(p, byPurchase.get(p.id)));
}
