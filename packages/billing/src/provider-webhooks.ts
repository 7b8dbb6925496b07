import type { ProviderEvent, ProviderRegistry, SavedCard, WebhookHeaders } from '@tally/payments';
import type { Pool } from '@tally/postgres';
import type { Logger } from '@tally/runtime';
import type { Fulfilment } from './checkout/fulfilment.ts';
import type { PurchaseRepo } from './purchases/purchase-repo.ts';
import type { WalletService } from './wallet/wallet-service.ts';
import type { PaymentMethods } from './wallet/payment-methods.ts';
import { PLAN_REFERENCE_PREFIX } from './plan-checkout.ts';

/** Activates the subscription a plan checkout paid for (the catalog's SubscriptionService). */
export type PlanActivation = (reference: string, tenantId: string) => Promise<unknown>;

/**
 * POST /v1/providers/:provider/webhook. The provider's signature is checked
 * first (forged or older than 5 minutes: 400). Then the event is acted on and
 * only afterwards its id recorded as seen: recording first would let a crash
 * in between swallow a payment. Acting twice is harmless (fulfilment is
 * idempotent), so a re-delivery that races the first one still credits once.
 */
export class ProviderWebhooks {
  private activatePlan: PlanActivation | null = null;

  constructor(
    private readonly pool: Pool,
    private readonly providers: ProviderRegistry,
    private readonly purchases: PurchaseRepo,
    private readonly fulfilment: Fulfilment,
    private readonly methods: PaymentMethods,
    private readonly wallet: WalletService,
    private readonly logger: Logger,
  ) {}

  setPlanActivation(activate: PlanActivation): void {
    this.activatePlan = activate;
  }

  async receive(providerName: string, rawBody: string, headers: WebhookHeaders): Promise<{ received: true; duplicate: boolean }> {
    const provider = this.providers.get(providerName);
    const event = await provider.verifyAndParseWebhook(rawBody, headers);
    const seen = await this.pool.query('SELECT 1 FROM provider_events WHERE provider = $1 AND event_id = $2', [providerName, event.id]);
    if (seen.rowCount) return { received: true, duplicate: true };
    const tenantId = await this.handle(providerName, event);
    await this.pool.query(
      'INSERT INTO provider_events (provider, event_id, tenant_id, type) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
      [providerName, event.id, tenantId, event.type],
    );
    return { received: true, duplicate: false };
  }

  private async handle(providerName: string, event: ProviderEvent): Promise<string | null> {
    switch (event.type) {
      case 'checkout.completed': {
        if (event.reference.startsWith(PLAN_REFERENCE_PREFIX)) return this.planPaid(providerName, event.reference, event.card);
        const p = await this.purchaseFor(event.reference, providerName);
        if (!p) return null;
        if (event.card && (await this.methods.save(this.pool, p.tenantId, p.customerId, providerName, event.card))) {
          await this.wallet.notifyCardSaved(p.tenantId, p.customerId);
        }
        await this.fulfilment.fulfil(p.tenantId, p.id, event.chargeId);
        return p.tenantId;
      }
      case 'checkout.failed': {
        const p = await this.purchaseFor(event.reference, providerName);
        if (!p) return null;
        await this.fulfilment.fail(p, event.code, event.message);
        return p.tenantId;
      }
      case 'setup.completed':
        return this.wallet.completeSetup(providerName, event.reference, event.card);
      case 'ignored':
        return null;
    }
  }

  private async planPaid(providerName: string, reference: string, card: SavedCard | null): Promise<string | null> {
    const { rows } = await this.pool.query<{ tenant_id: string; customer_id: string }>(
      'SELECT tenant_id, customer_id FROM subscriptions WHERE checkout_reference = $1',
      [reference],
    );
    const sub = rows[0];
    if (!sub || !this.activatePlan) {
      this.logger.warn({ reference }, 'provider webhook for an unknown plan checkout; ignored');
      return null;
    }
    if (card && (await this.methods.save(this.pool, sub.tenant_id, sub.customer_id, providerName, card))) {
      await this.wallet.notifyCardSaved(sub.tenant_id, sub.customer_id);
    }
    await this.activatePlan(reference, sub.tenant_id);
    return sub.tenant_id;
  }

  private async purchaseFor(reference: string, providerName: string) {
    if (!/^[0-9a-f-]{36}$/i.test(reference)) return null;
    const p = await this.purchases.getAnyTenant(reference);
    if (!p || p.provider !== providerName) {
      this.logger.warn({ reference, provider: providerName }, 'provider webhook for an unknown purchase; ignored');
      return null;
    }
    return p;
  }
}
