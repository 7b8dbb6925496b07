import type { PlanCheckout, PlanCheckoutRequest, PlanCheckoutStarted, UpgradeChargeRequest, UpgradeChargeResult } from '@tally/catalog';
import type { CatalogPort } from '../ports.ts';
import type { RenewalService } from './renewal-service.ts';

/** The catalog's plan seam: the first period through the hosted checkout, an upgrade's prorated charge through renewals. */
export class RenewingPlanCheckout implements PlanCheckout {
  constructor(
    private readonly first: PlanCheckout,
    private readonly renewals: RenewalService,
    private readonly catalog: CatalogPort,
  ) {}

  start(request: PlanCheckoutRequest): Promise<PlanCheckoutStarted> {
    return this.first.start(request);
  }

  async chargeUpgrade(req: UpgradeChargeRequest): Promise<UpgradeChargeResult> {
    const provider = req.plan.provider ?? (await this.catalog.snapshot(req.tenantId)).defaultProvider ?? 'sandbox';
    const out = await this.renewals.chargeUpgrade({
      tenantId: req.tenantId,
      customerId: req.customerId,
      fromSubscriptionId: req.fromSubscriptionId,
      planId: req.plan.id,
      planSlug: req.plan.slug,
      amountMinor: req.amountMinor,
      currency: req.plan.currency,
      provider,
      periodStart: req.periodStart,
      periodEnd: req.periodEnd,
    });
    return out.status === 'succeeded'
      ? { status: 'succeeded', reference: out.renewal.id, amountMinor: out.renewal.amountMinor }
      : { status: 'declined', reference: out.renewal.id, code: out.code, message: out.message };
  }
}
