import { AppError, type Logger } from '@tally/runtime';
import type { CustomerPort } from '../ports.ts';
import type { Purchase, PurchaseRepo } from '../purchases/purchase-repo.ts';
import { SANDBOX_PROVIDER_NAME, type TenantProviders } from '../tenant-providers.ts';
import type { PaymentMethods } from '../wallet/payment-methods.ts';
import type { Fulfilment } from './fulfilment.ts';
import { billingErrors } from '../errors.ts';

export interface CheckoutUrls {
  /** Where the hosted page sends the buyer after paying, when the app gave no callbackUrl. */
  defaultReturnUrl: (purchaseId: string) => string;
}

/** Called when a purchase is declined (auto top-up stops retrying until the card changes). */
export type DeclineListener = (p: Purchase, code: string) => Promise<void>;
/** Called when the checkout job leaves a purchase completed or failed. */
export type FinishedListener = (p: Purchase) => Promise<void>;

/**
 * The checkout job: moves one purchase forward from wherever it stands.
 *
 *   pending  --card on file-->  charging --succeeded--> paid --> completed
 *      |                            \--declined--> failed
 *      \--no card--> awaiting_payment --(provider webhook)--> paid --> completed
 *
 * The off-session charge carries the idempotency key `tally_purchase_<id>`:
 * a worker killed after the provider charged, and the job run again, sends
 * the same key and gets the same charge back instead of a second one.
 */
export class CheckoutService {
  private readonly declineListeners: DeclineListener[] = [];
  private readonly finishedListeners: FinishedListener[] = [];

  constructor(
    private readonly purchases: PurchaseRepo,
    private readonly methods: PaymentMethods,
    private readonly providers: TenantProviders,
    private readonly customers: CustomerPort,
    private readonly fulfilment: Fulfilment,
    private readonly urls: CheckoutUrls,
    private readonly logger: Logger,
  ) {}

  onDecline(listener: DeclineListener): void {
    this.declineListeners.push(listener);
  }

  onFinished(listener: FinishedListener): void {
    this.finishedListeners.push(listener);
  }

  async process(tenantId: string, purchaseId: string): Promise<Purchase['status']> {
    const p = await this.purchases.get(tenantId, purchaseId);
    if (!p) throw billingErrors.purchase_not_found(`purchase ${purchaseId} not found`);
    const status = await this.step(p);
    if (status === 'completed' || status === 'failed') {
      for (const listener of this.finishedListeners) await listener(p).catch((err) => this.logger.warn({ err }, 'finished listener failed'));
    }
    return status;
  }

  private async step(p: Purchase): Promise<Purchase['status']> {
    switch (p.status) {
      case 'completed':
      case 'failed':
      case 'refunded':
      case 'awaiting_payment':
      case 'expired':
        return p.status;
      case 'paid':
        return (await this.fulfilment.applyPaid(p)).status;
      case 'pending':
      case 'charging':
        return this.chargeOrCheckout(p);
    }
  }

  private async chargeOrCheckout(p: Purchase): Promise<Purchase['status']> {
    const provider = await this.providers.forTenant(p.tenantId, p.provider).catch(async (err: unknown) => {
      // A live tenant's leftover sandbox purchase can never complete: end it failed instead of
      // having the stale sweeper retry it forever. Anything else (a provider down) stays retryable.
      if (err instanceof AppError && err.code === 'provider_not_configured' && err.details?.['environment'] === 'live' && p.provider === SANDBOX_PROVIDER_NAME) {
        await this.fulfilment.fail(p, err.code, err.message);
        return null;
      }
      throw err;
    });
    if (!provider) return 'failed';
    // Once charging started, stay with the card it started with: the retry must repeat that exact charge.
    const method = p.paymentMethodId
      ? await this.methods.get(p.tenantId, p.paymentMethodId)
      : await this.methods.default(p.tenantId, p.customerId, p.provider);

    if (method) {
      await this.purchases.startCharge(p.tenantId, p.id, method.id);
      const result = await provider.chargeSavedMethod({
        tenantId: p.tenantId,
        reference: p.id,
        providerCustomerId: method.providerCustomerId,
        providerMethodId: method.providerMethodId,
        amountMinor: p.amountMinor,
        currency: p.currency,
        description: `${p.quantity} × ${p.packName}`,
        idempotencyKey: `tally_purchase_${p.id}`,
        metadata: { tally_customer: p.customerId, tally_pack: p.packSlug },
      });
      if (result.status === 'succeeded') return (await this.fulfilment.fulfil(p.tenantId, p.id, result.chargeId)).status;
      await this.fulfilment.fail(p, result.code, result.message);
      for (const listener of this.declineListeners) await listener(p, result.code).catch((err) => this.logger.warn({ err }, 'decline listener failed'));
      return 'failed';
    }

    if (p.source === 'auto_topup') {
      await this.fulfilment.fail(p, 'no_payment_method', 'Auto top-up needs a card on file.');
      for (const listener of this.declineListeners) await listener(p, 'no_payment_method').catch(() => {});
      return 'failed';
    }

    const ctx = await this.customers.context(p.tenantId, p.customerId);
    const providerCustomerId = await this.methods.providerCustomer(provider, p.tenantId, {
      id: p.customerId,
      email: ctx?.customer.email ?? null,
      name: ctx?.customer.name ?? null,
    });
    const returnUrl = p.callbackUrl ?? this.urls.defaultReturnUrl(p.id);
    const session = await provider.createCheckout({
      tenantId: p.tenantId,
      reference: p.id,
      providerCustomerId,
      item: { name: p.packName, unitAmountMinor: p.amountMinor / BigInt(p.quantity), quantity: p.quantity, currency: p.currency },
      successUrl: returnUrl,
      cancelUrl: returnUrl,
      saveCard: true,
      idempotencyKey: `tally_checkout_${p.id}`,
      metadata: { tally_customer: p.customerId, tally_pack: p.packSlug },
    });
    await this.purchases.awaitPayment(p.tenantId, p.id, session.id, session.url);
    return 'awaiting_payment';
  }
}
