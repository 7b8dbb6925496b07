import { fromMicro } from '@tally/core';
import { counter, type Logger } from '@tally/runtime';
import type { BalancePort } from '../ports.ts';
import type { GrantLedger } from '../purchases/grant-repo.ts';
import type { Purchase, PurchaseRepo } from '../purchases/purchase-repo.ts';
import { purchaseFigures } from '../purchases/purchase-view.ts';
import type { Transactor } from '../store.ts';
import type { WebhookEmitter } from '../webhooks/webhook-emitter.ts';

const purchasesDone = counter('tally_purchases_total', 'Credit pack purchases that reached a final state', ['provider', 'source', 'outcome']);
const creditsGranted = counter('tally_credits_granted_total', 'Purchased credits granted (credits)', ['provider']);

export const purchaseEventData = (p: Purchase) => ({
  reference: p.id,
  customer: p.customerId,
  ...purchaseFigures(p),
  source: p.source,
});

/**
 * Turns a paid purchase into credits, exactly once, whoever calls it (the
 * checkout worker after an off-session charge, the provider webhook after a
 * hosted checkout, a retry of either, the stale-purchase sweeper).
 *
 * Order: (1) one transaction writes the ledger row (id = purchase id, unique)
 * and marks the purchase paid; (2) the grant is applied to the Redis balance,
 * idempotent by grant id; (3) the purchase is marked completed. A crash after
 * (1) leaves it `paid`, and every caller resumes at (2): Redis never holds a
 * grant the ledger lacks, and the ledger's grant reaches Redis on the next try.
 */
export class Fulfilment {
  constructor(
    private readonly tx: Transactor,
    private readonly purchases: PurchaseRepo,
    private readonly grants: GrantLedger,
    private readonly balances: BalancePort,
    private readonly webhooks: WebhookEmitter,
    private readonly logger: Logger,
  ) {}

  async fulfil(tenantId: string, purchaseId: string, chargeId: string): Promise<Purchase> {
    const recorded = await this.tx.transaction(async (tx) => {
      const p = await this.purchases.get(tenantId, purchaseId, tx, true);
      if (!p) throw new Error(`purchase ${purchaseId} not found`);
      if (p.status === 'completed' || p.status === 'refunded' || p.status === 'paid') return p;
      if (p.status === 'expired') {
        // A payment arriving after expiry (late webhook, a page kept open) is recorded here and refused: no grant.
        purchasesDone.labels(p.provider, p.source, 'paid_after_expiry').inc();
        this.logger.warn({ tenantId, purchaseId, chargeId }, 'payment for an expired purchase refused: nothing granted');
        return p;
      }
      await this.grants.recordPurchase(tx, p);
      await this.purchases.markPaid(tx, tenantId, p.id, chargeId);
      return { ...p, status: 'paid' as const, chargeId };
    });
    if (recorded.status !== 'paid') return recorded;
    return this.applyPaid(recorded);
  }

  /** Steps (2) and (3) for a purchase whose ledger row exists. */
  async applyPaid(p: Purchase): Promise<Purchase> {
    const grant = await this.grants.get(p.tenantId, p.id);
    if (!grant) throw new Error(`purchase ${p.id} is paid but has no ledger row`);
    await this.balances.applyGrant({
      tenantId: p.tenantId,
      customerId: p.customerId,
      creditSystem: p.creditSystem,
      grantId: p.id,
      creditsMicro: grant.creditsMicro,
      grantedAt: grant.grantedAt,
      expiresAt: grant.expiresAt,
    });
    if (await this.purchases.markCompleted(p.tenantId, p.id)) {
      purchasesDone.labels(p.provider, p.source, 'completed').inc();
      creditsGranted.labels(p.provider).inc(fromMicro(p.creditsMicro));
      this.logger.info({ tenantId: p.tenantId, purchaseId: p.id, credits: fromMicro(p.creditsMicro) }, 'purchase completed');
    }
    await this.webhooks.emitSafely(p.tenantId, 'purchase.completed', `purchase.completed:${p.id}`, purchaseEventData(p));
    return { ...p, status: 'completed' };
  }

  async fail(p: Purchase, code: string, message: string): Promise<void> {
    if (await this.purchases.fail(p.tenantId, p.id, code, message)) {
      purchasesDone.labels(p.provider, p.source, 'failed').inc();
      this.logger.info({ tenantId: p.tenantId, purchaseId: p.id, code }, 'purchase failed');
    } else if ((await this.purchases.get(p.tenantId, p.id))?.status !== 'failed') {
      return; // it moved on (paid meanwhile): no failure to report
    }
    await this.webhooks.emitSafely(p.tenantId, 'purchase.failed', `purchase.failed:${p.id}`, {
      ...purchaseEventData(p),
      failure: { code, message },
    });
  }
}
