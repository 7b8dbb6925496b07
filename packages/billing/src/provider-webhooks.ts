import type { PaidFacts, PaymentProvider, ProviderEvent, SavedCard, WebhookHeaders } from '@tally/payments';
import type { Logger } from '@tally/runtime';
import type { Fulfilment } from './checkout/fulfilment.ts';
import type { PurchaseRepo } from './purchases/purchase-repo.ts';
import type { RefundService } from './refunds/refund-service.ts';
import type { WalletService } from './wallet/wallet-service.ts';
import type { PaymentMethods } from './wallet/payment-methods.ts';
import { paymentMismatch, paymentMismatchError, type ExpectedPayment } from './payment-match.ts';
import { PLAN_REFERENCE_PREFIX } from './plan-checkout.ts';
import type { ProviderWebhookStore } from './provider-webhook-repo.ts';
import type { TenantProviders } from './tenant-providers.ts';
import { paymentErrors } from '@tally/payments';

/** Activates the subscription a plan checkout paid for (the catalog's SubscriptionService). */
export type PlanActivation = (reference: string, tenantId: string) => Promise<unknown>;

/**
 * POST /v1/providers/:provider/webhook. The provider's signature is checked
 * first (forged or older than 5 minutes: 400). Then the event is acted on and
 * only afterwards its id recorded as seen: recording first would let a crash
 * in between swallow a payment. Acting twice is harmless (fulfilment is
 * idempotent), so a re-delivery that races the first one still credits once.
 *
 * A signature proves the provider sent it, not that it pays for the reference
 * it names: before granting, the paid session must be the one Tally opened for
 * the purchase and the provider's own record of amount, currency, reference and
 * tenant must match (payment-match.ts). A mismatch grants and records nothing,
 * is logged, and is answered 400 `payment_mismatch`, so it shows as failed at the
 * provider (docs/security.md).
 */
export class ProviderWebhooks {
  private activatePlan: PlanActivation | null = null;

  constructor(
    private readonly store: ProviderWebhookStore,
    private readonly providers: TenantProviders,
    private readonly purchases: PurchaseRepo,
    private readonly fulfilment: Fulfilment,
    private readonly methods: PaymentMethods,
    private readonly wallet: WalletService,
    private readonly refunds: RefundService,
    private readonly logger: Logger,
  ) {}

  setPlanActivation(activate: PlanActivation): void {
    this.activatePlan = activate;
  }

  async receive(providerName: string, rawBody: string, headers: WebhookHeaders): Promise<{ received: true; duplicate: boolean }> {
    return this.accept(providerName, this.providers.registry.verifier(providerName), rawBody, headers, null);
  }

  /**
   * The webhook of a tenant's own provider account (`/v1/providers/stripe/webhook/:tenantId`), verified with
   * that tenant's signing secret. The tenant holds that secret, so it could sign anything: an event here acts
   * only on that tenant's purchases, setups and plans, never another tenant's (a reference of another is ignored).
   */
  async receiveForTenant(tenantId: string, providerName: string, rawBody: string, headers: WebhookHeaders): Promise<{ received: true; duplicate: boolean }> {
    const own = await this.providers.ownProvider(tenantId, providerName);
    if (!own) throw paymentErrors.provider_not_configured(`this tenant has no ${providerName} keys of its own (PUT /v1/providers/${providerName}/credentials)`, { details: { provider: providerName } });
    return this.accept(providerName, own, rawBody, headers, tenantId);
  }

  private async accept(
    providerName: string,
    verifier: Pick<PaymentProvider, 'verifyAndParseWebhook'>,
    rawBody: string,
    headers: WebhookHeaders,
    scope: string | null,
  ): Promise<{ received: true; duplicate: boolean }> {
    const event = await verifier.verifyAndParseWebhook(rawBody, headers);
    if (await this.store.seen(providerName, event.id)) return { received: true, duplicate: true };
    const tenantId = await this.handle(providerName, event, scope);
    await this.store.record(providerName, event.id, tenantId, event.type);
    return { received: true, duplicate: false };
  }

  /** `scope`: the tenant whose own provider account sent the event (only its rows may change), or null for the deployment's. */
  private async handle(providerName: string, event: ProviderEvent, scope: string | null): Promise<string | null> {
    switch (event.type) {
      case 'checkout.completed': {
        if (event.reference.startsWith(PLAN_REFERENCE_PREFIX)) return this.planPaid(providerName, event.id, event.reference, event.card, event.paid, scope);
        const p = await this.purchaseFor(event.reference, providerName, scope);
        if (!p) return null;
        await this.mustMatch(providerName, event.id, event.paid, {
          reference: p.id,
          tenantId: p.tenantId,
          checkoutId: p.checkoutId,
          amountMinor: p.amountMinor,
          currency: p.currency,
        });
        if (event.card && (await this.methods.save(null, p.tenantId, p.customerId, providerName, event.card))) {
          await this.wallet.notifyCardSaved(p.tenantId, p.customerId);
        }
        await this.fulfilment.fulfil(p.tenantId, p.id, event.chargeId);
        return p.tenantId;
      }
      case 'checkout.failed': {
        const p = await this.purchaseFor(event.reference, providerName, scope);
        if (!p) return null;
        if (event.checkoutId !== p.checkoutId) {
          this.refuse(providerName, event.id, p.id, `checkout session ${event.checkoutId ?? '(none)'} is not the one Tally opened for it`);
        }
        await this.fulfilment.fail(p, event.code, event.message);
        return p.tenantId;
      }
      case 'setup.completed':
        return this.wallet.completeSetup(providerName, event.reference, event.card, scope);
      case 'charge.reversed': {
        // refunded in the provider's dashboard or disputed: the money is gone, so are the unspent credits
        const found = await this.purchases.byCharge(providerName, event.chargeId);
        const p = found && (scope === null || found.tenantId === scope) ? found : null;
        if (!p || (p.status !== 'completed' && p.status !== 'refunded')) {
          this.logger.warn({ provider: providerName, chargeId: event.chargeId, status: p?.status }, `provider ${event.reason} a charge of no completed purchase; ignored`);
          return p?.tenantId ?? null;
        }
        const r = await this.refunds.reversedAtProvider(p.tenantId, p.id, event.amountMinor, event.providerRef);
        this.logger.info({ purchaseId: p.id, reason: event.reason, revokedMicro: String(r.revokedMicro) }, 'charge reversed at the provider; unspent credits revoked');
        return p.tenantId;
      }
      case 'ignored':
        return null;
    }
  }

  private async planPaid(providerName: string, eventId: string, reference: string, card: SavedCard | null, paid: PaidFacts, scope: string | null): Promise<string | null> {
    // The plan's price as the catalog holds it: what ProviderPlanCheckout asked for (a price changed meanwhile is refused, logged).
    const found = await this.store.planCheckout(reference);
    const sub = found && (scope === null || found.tenantId === scope) ? found : undefined;
    if (!sub || !this.activatePlan) {
      this.logger.warn({ reference }, 'provider webhook for an unknown plan checkout; ignored');
      return null;
    }
    await this.mustMatch(providerName, eventId, paid, { reference, tenantId: sub.tenantId, amountMinor: sub.priceMinor, currency: sub.currency });
    if (card && (await this.methods.save(null, sub.tenantId, sub.customerId, providerName, card))) {
      await this.wallet.notifyCardSaved(sub.tenantId, sub.customerId);
    }
    await this.activatePlan(reference, sub.tenantId);
    return sub.tenantId;
  }

  /** Refuses (400, logged) a payment that is not the one the reference asked for, or a provider the tenant may not use. */
  private async mustMatch(providerName: string, eventId: string, paid: PaidFacts, expected: ExpectedPayment): Promise<void> {
    await this.providers.forTenant(expected.tenantId, providerName);
    const why = paymentMismatch(expected, paid);
    if (why) this.refuse(providerName, eventId, expected.reference, why);
  }

  private refuse(providerName: string, eventId: string, reference: string, why: string): never {
    this.logger.warn({ provider: providerName, eventId, reference, why }, 'provider webhook does not match the payment it names; nothing granted');
    throw paymentMismatchError(reference, why);
  }

  private async purchaseFor(reference: string, providerName: string, scope: string | null) {
    if (!/^[0-9a-f-]{36}$/i.test(reference)) return null;
    const p = await this.purchases.getAnyTenant(reference);
    if (!p || p.provider !== providerName || (scope !== null && p.tenantId !== scope)) {
      this.logger.warn({ reference, provider: providerName }, 'provider webhook for an unknown purchase; ignored');
      return null;
    }
    return p;
  }
}
