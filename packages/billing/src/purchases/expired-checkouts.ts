import { isAppError, type Logger } from '@tally/runtime';
import type { TenantProviders } from '../tenant-providers.ts';
import type { PurchaseRepo } from './purchase-repo.ts';

/**
 * How long an expired purchase's checkout is retried at its provider. Stripe
 * expires a Checkout Session on its own 24 h after creation at the latest, so
 * past a day there is nothing left open to close.
 */
const RETRY_FOR_SECONDS = 86_400;

/**
 * Closes at the provider the hosted checkout of a purchase that expired in
 * Tally (Stripe: POST /v1/checkout/sessions/:id/expire, with the tenant's own
 * keys when it has them), so the customer can no longer pay it there.
 *
 * Order: the expiry commits first (PurchaseRepo.expireOverdue, the guarded
 * UPDATE), this runs after it in the billing sweep. A failed call never undoes
 * or delays the expiry: the purchase keeps `checkout_closed_at` NULL and the
 * next sweep tries again, until the provider answers (closed, or no longer
 * open) or a day has passed.
 */
export class ExpiredCheckouts {
  constructor(
    private readonly purchases: Pick<PurchaseRepo, 'expiredWithOpenCheckout' | 'markCheckoutClosed'>,
    private readonly providers: TenantProviders,
    private readonly logger: Logger,
  ) {}

  /**
   * One pass; answers how many were closed and how many failed (left for the
   * next pass). `failed` counts what may succeed when tried again (the
   * provider down, a 5xx); a tenant whose provider cannot be built here (its
   * keys deleted, the deployment's Stripe removed) is retried too but logged
   * only, so it does not fail every sweep for a day.
   */
  async closeAtProviders(limit = 100): Promise<{ closed: number; failed: number }> {
    const rows = await this.purchases.expiredWithOpenCheckout(RETRY_FOR_SECONDS, limit);
    let closed = 0;
    let failed = 0;
    for (const r of rows) {
      try {
        const provider = await this.providers.forTenant(r.tenantId, r.provider);
        // the sandbox has nothing to close: its page reads the purchase and says expired
        const outcome = provider.expireCheckout ? await provider.expireCheckout(r.checkoutId) : 'not_open';
        await this.purchases.markCheckoutClosed(r.id);
        if (outcome === 'expired') closed++;
      } catch (err) {
        if (!(isAppError(err) && !err.retryable && err.status < 500)) failed++;
        this.logger.warn({ err, purchaseId: r.id, provider: r.provider }, 'closing an expired checkout at its provider failed; the next sweep retries');
      }
    }
    return { closed, failed };
  }
}
