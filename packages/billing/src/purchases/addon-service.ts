import { randomUUID } from 'node:crypto';
import { badRequest } from '@tally/runtime';
import type { CheckoutQueue } from '../checkout/checkout.queue.ts';
import type { CatalogPort, CustomerPort } from '../ports.ts';
import type { TenantProviders } from '../tenant-providers.ts';
import { idempotencyKeyReused, isSameAddon, type AddonAsk } from './idempotency.ts';
import { findPack, priceOrder } from './pack-pricing.ts';
import type { Purchase, PurchaseRepo } from './purchase-repo.ts';
import { catalogErrors } from '@tally/catalog';

/** What the API hands AddonService: the customer's ask, with its tenant and Idempotency-Key. */
export interface AddonRequest extends AddonAsk {
  tenantId: string;
  idempotencyKey?: string | undefined;
}

/**
 * Starts a credit pack purchase: validates it against the catalog, records it
 * (once per Idempotency-Key) and hands it to the checkout worker.
 */
export class AddonService {
  constructor(
    private readonly catalog: CatalogPort,
    private readonly customers: CustomerPort,
    private readonly providers: TenantProviders,
    private readonly purchases: PurchaseRepo,
    private readonly queue: CheckoutQueue,
  ) {}

  async start(req: AddonRequest): Promise<{ purchase: Purchase; created: boolean; creditSystemId: string | null }> {
    if (req.idempotencyKey !== undefined && !/^[\x21-\x7e]{1,255}$/.test(req.idempotencyKey)) {
      throw badRequest('validation_error', 'Idempotency-Key must be 1-255 visible ASCII characters');
    }
    // A retry with a known key answers from the recorded purchase, whatever the catalog says now;
    // the same key with another request is refused (422), never answered with the first purchase.
    if (req.idempotencyKey) {
      const existing = await this.purchases.byIdempotencyKey(req.tenantId, req.idempotencyKey);
      if (existing) return this.resume(this.sameOrRefuse(req, existing));
    }
    const snapshot = await this.catalog.snapshot(req.tenantId);
    const pack = findPack(snapshot, req.pack);
    const order = priceOrder(snapshot, pack, req.quantity, req.currency);
    await this.providers.forTenant(req.tenantId, order.provider); // 400 provider_not_configured, naming it (and a wrong environment)
    // as track, check and attach do: an unknown customer is created on first use, once the request is known good
    if (!(await this.customers.context(req.tenantId, req.customer))) {
      if (!this.customers.ensure) throw catalogErrors.customer_not_found(`customer "${req.customer}" does not exist`);
      await this.customers.ensure(req.tenantId, req.customer, req.customerData ?? null);
    }
    const { purchase, created } = await this.purchases.create({
      id: randomUUID(),
      tenantId: req.tenantId,
      customerId: req.customer,
      packId: pack.id,
      packSlug: pack.slug,
      packName: pack.name,
      refundPolicy: pack.refundPolicy,
      creditSystem: pack.creditSystem,
      quantity: req.quantity,
      creditsMicro: order.creditsMicro,
      amountMinor: order.amountMinor,
      currency: order.currency,
      provider: order.provider,
      source: req.source ?? 'purchase',
      idempotencyKey: req.idempotencyKey ?? null,
      callbackUrl: req.callbackUrl ?? null,
      metadata: req.metadata ?? {},
    });
    if (!created) return this.resume(this.sameOrRefuse(req, purchase)); // a concurrent request with the key won
    await this.queue.enqueue({ tenantId: req.tenantId, purchaseId: purchase.id });
    return { purchase, created, creditSystemId: snapshot.creditSystems.get(pack.creditSystem)?.id ?? null };
  }

  private sameOrRefuse(req: AddonRequest, existing: Purchase): Purchase {
    if (!isSameAddon(req, existing)) throw idempotencyKeyReused(req.idempotencyKey ?? '', existing);
    return existing;
  }

  /** Re-adds the job (a no-op when it exists) in case the first request died between insert and enqueue. */
  private async resume(purchase: Purchase) {
    if (purchase.status === 'pending' || purchase.status === 'charging' || purchase.status === 'paid') {
      await this.queue.enqueue({ tenantId: purchase.tenantId, purchaseId: purchase.id });
    }
    const snapshot = await this.catalog.snapshot(purchase.tenantId).catch(() => null);
    return { purchase, created: false, creditSystemId: snapshot?.creditSystems.get(purchase.creditSystem)?.id ?? null };
  }
}
