import type { PlanCheckout, PlanCheckoutRequest, PlanCheckoutStarted } from '@tally/catalog';
import type { CatalogPort, CustomerPort } from './ports.ts';
import type { TenantProviders } from './tenant-providers.ts';
import type { PaymentMethods } from './wallet/payment-methods.ts';

export const PLAN_REFERENCE_PREFIX = 'sub_';

/**
 * The catalog's seam for paid plans in /v1/attach: a hosted checkout for the
 * plan's price with the plan's provider (or the tenant default). The provider
 * webhook for reference `sub_<subscription>` activates the subscription.
 * Only the first period is collected here; renewals are not billed yet.
 */
export class ProviderPlanCheckout implements PlanCheckout {
  constructor(
    private readonly providers: TenantProviders,
    private readonly methods: PaymentMethods,
    private readonly catalog: CatalogPort,
    private readonly customers: CustomerPort,
    private readonly returnUrl: (reference: string) => string,
  ) {}

  async start(req: PlanCheckoutRequest): Promise<PlanCheckoutStarted> {
    const snapshot = await this.catalog.snapshot(req.tenantId);
    const provider = await this.providers.forTenant(req.tenantId, req.plan.provider ?? snapshot.defaultProvider ?? 'sandbox');
    const ctx = await this.customers.context(req.tenantId, req.customerId);
    const providerCustomerId = await this.methods.providerCustomer(provider, req.tenantId, {
      id: req.customerId,
      email: ctx?.customer.email ?? null,
      name: ctx?.customer.name ?? null,
    });
    const reference = `${PLAN_REFERENCE_PREFIX}${req.subscriptionId}`;
    const back = req.callbackUrl ?? this.returnUrl(reference);
    const session = await provider.createCheckout({
      tenantId: req.tenantId,
      reference,
      providerCustomerId,
      // price and currency from the catalog only, whatever the request said
      item: { name: req.plan.name, unitAmountMinor: req.plan.priceMinor, quantity: 1, currency: req.plan.currency },
      successUrl: back,
      cancelUrl: back,
      saveCard: true,
      idempotencyKey: `tally_plan_${req.subscriptionId}`,
      metadata: { tally_customer: req.customerId, tally_plan: req.plan.slug },
    });
    return { checkoutUrl: session.url, reference };
  }
}
