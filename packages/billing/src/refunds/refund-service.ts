import { fromMicro, refundAmountMinor } from '@tally/core';
import { purchaseEventData } from '../checkout/fulfilment.ts';
import type { BalanceChange, BalancePort, BalanceRef } from '../ports.ts';
import type { Purchase, PurchaseRepo } from '../purchases/purchase-repo.ts';
import type { Transactor } from '../store.ts';
import type { RefundStore } from './refund-repo.ts';
import type { TenantProviders } from '../tenant-providers.ts';
import type { WebhookEmitter } from '../webhooks/webhook-emitter.ts';
import { billingErrors } from '../errors.ts';

export interface RefundOutcome {
  reference: string;
  amountMinor: bigint;
  currency: string;
  revokedMicro: bigint;
  spentMicro: bigint;
}

/**
 * Refunds a completed purchase: the grant's unspent credits taken back from
 * the balance, the money back through the provider — the whole price, or the
 * unspent credits' share of it (the pack's refund rule when it was sold) —
 * and the spent remainder recorded. One transaction holds the purchase row
 * locked for the whole refund, so two refund calls run one after the other
 * and the second sees `refunded` and answers the same outcome.
 *
 * Order: revoke in Redis (first, so nothing is spent between pricing the
 * refund and taking the credits back) → provider refund of that amount
 * (idempotency key per purchase) → ledger (`revoked_micro`), refund row and
 * status in the same transaction. The revoke answers the same amount when
 * repeated, so a refund that failed at the provider prices the same on its
 * retry. The ledger then says exactly what Redis holds: credits − revoked − spent.
 */
export class RefundService {
  private readonly balanceListeners: ((change: BalanceChange) => Promise<void>)[] = [];

  constructor(
    private readonly tx: Transactor,
    private readonly purchases: PurchaseRepo,
    private readonly records: RefundStore,
    private readonly providers: TenantProviders,
    private readonly balances: BalancePort,
    private readonly webhooks: WebhookEmitter,
  ) {}

  /** Called with the new balance after a refund took credits back (balance alerts, auto top-up). */
  onBalanceChanged(listener: (change: BalanceChange) => Promise<void>): void {
    this.balanceListeners.push(listener);
  }

  async refund(tenantId: string, purchaseId: string): Promise<RefundOutcome> {
    return this.settle(tenantId, purchaseId, async (p, revokedMicro) => {
      const provider = await this.providers.forTenant(tenantId, p.provider);
      const amountMinor = refundAmountMinor(p.refundPolicy, p.amountMinor, p.creditsMicro, revokedMicro);
      // a zero refund (every credit spent, pro rata) is recorded without a provider call: providers refuse 0
      const refund = amountMinor > 0n
        ? await provider.refund({ tenantId, chargeId: p.chargeId!, amountMinor, idempotencyKey: `tally_refund_${p.id}` })
        : { refundId: 'none' };
      return { amountMinor, refundId: refund.refundId };
    });
  }

  /**
   * Money already taken back on the provider's side (a refund in its dashboard, a dispute): the unspent
   * credits are revoked and the refund recorded with the amount the provider gave back — no provider call.
   * A purchase Tally refunded itself answers its recorded refund (the provider's echo of it changes nothing).
   */
  async reversedAtProvider(tenantId: string, purchaseId: string, amountMinor: bigint, providerRef: string): Promise<RefundOutcome> {
    return this.settle(tenantId, purchaseId, async (p) => ({ amountMinor: amountMinor < p.amountMinor ? amountMinor : p.amountMinor, refundId: providerRef }));
  }

  private async settle(
    tenantId: string,
    purchaseId: string,
    payBack: (p: Purchase, revokedMicro: bigint) => Promise<{ amountMinor: bigint; refundId: string }>,
  ): Promise<RefundOutcome> {
    const done = await this.tx.transaction(async (tx): Promise<{ outcome: RefundOutcome; fresh: Purchase | null }> => {
      const p = await this.purchases.get(tenantId, purchaseId, tx, true);
      if (!p) throw billingErrors.purchase_not_found(`purchase ${purchaseId} does not exist`);
      if (p.status === 'refunded') {
        const r = (await this.records.ofPurchase(tenantId, p.id, tx))!;
        return { outcome: { reference: p.id, amountMinor: r.amountMinor, currency: p.currency, revokedMicro: r.revokedMicro, spentMicro: r.spentMicro }, fresh: null };
      }
      if (p.status !== 'completed' || !p.chargeId) throw billingErrors.purchase_not_refundable(`purchase ${p.id} is ${p.status}; only completed purchases can be refunded`);
      const { revokedMicro } = await this.balances.revokeGrant({ tenantId, customerId: p.customerId, creditSystem: p.creditSystem, grantId: p.id });
      if (revokedMicro > p.creditsMicro) throw billingErrors.refund_inconsistent(`revoked more than granted for ${p.id}`);
      const spentMicro = p.creditsMicro - revokedMicro;
      const { amountMinor, refundId } = await payBack(p, revokedMicro);
      await this.records.recordRevoked(tx, tenantId, p.id, revokedMicro);
      await this.records.insert(tx, { tenantId, purchaseId: p.id, amountMinor, revokedMicro, spentMicro, providerRefundId: refundId });
      await this.purchases.markRefunded(tx, tenantId, p.id);
      return { outcome: { reference: p.id, amountMinor, currency: p.currency, revokedMicro, spentMicro }, fresh: p };
    });
    const { outcome, fresh: p } = done;
    if (!p) return outcome;
    // After the commit: the refund stands whatever the webhook and the balance listeners do.
    await this.webhooks.emitSafely(tenantId, 'refund.completed', `refund.completed:${p.id}`, {
      ...purchaseEventData(p),
      refund: { amount: Number(outcome.amountMinor), revokedCredits: fromMicro(outcome.revokedMicro), spentCredits: fromMicro(outcome.spentMicro) },
    });
    // Revoked credits lower the balance like usage does: alerts and auto top-up react now, not at the next event.
    // The refund is committed: a failed balance read only leaves them to the next usage event, as before.
    if (outcome.revokedMicro > 0n) await this.balanceChanged({ tenantId, customerId: p.customerId, creditSystem: p.creditSystem }).catch(() => {});
    return outcome;
  }

  private async balanceChanged(ref: BalanceRef): Promise<void> {
    const { totalMicro } = await this.balances.balance(ref);
    for (const listener of this.balanceListeners) await listener({ ...ref, totalMicro });
  }
}
