import { randomUUID } from 'node:crypto';
import { currentPeriod, type PlanDef, type ResetInterval, type SubscriptionDef } from '@tally/core';
import { AppError, badRequest } from '@tally/runtime';
import { catalogErrors } from '../errors.ts';
import type { CatalogService } from '../catalog/catalog-service.ts';
import type { CustomerData, CustomerService } from '../customers/customer-service.ts';
import type { Tx } from '../store.ts';
import type { PlanCheckout } from './plan-checkout.ts';
import type { LiveSubscription } from './live-subscription.ts';
import type { SubscriptionRecord, SubscriptionStore } from './subscription-repo.ts';
import { proratedUpgrade } from './proration.ts';

export interface AttachInput {
  customer: string;
  product: string;
  customerData?: CustomerData;
  metadata?: Record<string, unknown>;
  currency?: string;
  callbackUrl?: string;
}

export interface AttachOutcome {
  requiresCheckout: boolean;
  checkoutUrl?: string;
  reference?: string;
  subscription: SubscriptionDef | null;
  message: string;
}

const toSubscription = (r: SubscriptionRecord, planSlug: string): SubscriptionDef => ({
  id: r.id,
  planSlug,
  status: r.status,
  anchorAt: r.anchorAt,
  trialEndsAt: r.trialEndsAt,
});

/** Subscriptions: attach a plan (free at once, paid through the PlanCheckout seam) and activate paid ones. */
export class SubscriptionService {
  private checkout: PlanCheckout | null;

  constructor(
    private readonly store: SubscriptionStore,
    private readonly catalog: CatalogService,
    private readonly customers: CustomerService,
    checkout: PlanCheckout | null = null,
  ) {
    this.checkout = checkout;
  }

  /** The billing side wires its checkout here; until then paid plans answer provider_not_configured. */
  setPlanCheckout(checkout: PlanCheckout | null): void {
    this.checkout = checkout;
  }

  /** The customer's live subscription, of any plan group (what GET /v1/subscriptions shows). */
  live(tenantId: string, customerId: string): Promise<LiveSubscription | null> {
    return this.store.liveInGroup(tenantId, customerId, undefined);
  }

  async attach(tenantId: string, input: AttachInput): Promise<AttachOutcome> {
    const snapshot = await this.catalog.snapshot(tenantId);
    const plan = snapshot.plans.get(input.product);
    if (!plan) throw catalogErrors.plan_not_found(`no plan "${input.product}"`);
    const paid = plan.priceMinor > 0n;
    if (paid && !this.checkout) {
      throw badRequest('provider_not_configured', `plan "${plan.slug}" is paid and no checkout provider is configured for plans`);
    }
    await this.customers.ensure(tenantId, input.customer, input.customerData);
    const current = plan.isAddon ? null : await this.store.liveInGroup(tenantId, input.customer, plan.planGroup ?? null);
    const changed = current ? await this.changeFrom(tenantId, current, plan, input) : null;
    if (changed) return changed;
    return paid ? this.startCheckout(tenantId, plan, input) : this.applyFree(tenantId, plan, input);
  }

  /**
   * Attach while on a paid plan of the group (docs/billing.md "Plan changes"): the same plan
   * undoes a scheduled change; a dearer one is an upgrade at once, charged prorated; a cheaper
   * one (or a free one) starts at the period end. Null: not a change these rules cover.
   */
  private async changeFrom(tenantId: string, current: LiveSubscription, plan: PlanDef, input: AttachInput): Promise<AttachOutcome | null> {
    if (current.status === 'past_due') {
      throw catalogErrors.subscription_past_due(`plan ${current.planSlug} is past due; save a new card to pay it before changing plans`);
    }
    if (current.planId === plan.id) {
      if (!current.scheduledPlanId && !current.cancelAtPeriodEnd) {
        return current.priceMinor > 0n ? { requiresCheckout: false, subscription: current.def, message: `customer ${input.customer} is already on plan ${plan.slug}` } : null;
      }
      await this.store.clearScheduled(tenantId, current.id);
      return { requiresCheckout: false, subscription: current.def, message: `customer ${input.customer} stays on plan ${plan.slug}: the scheduled change is undone` };
    }
    if (current.priceMinor === 0n) return null; // from a free plan: checkout or switch, as before
    const periodEnd = current.periodEnd ?? this.periodOf(current.anchorAt, current.interval, new Date()).end;
    if (plan.priceMinor < current.priceMinor) {
      await this.store.schedulePlan(tenantId, current.id, plan.id);
      return {
        requiresCheckout: false,
        subscription: current.def,
        message: `customer ${input.customer} moves to plan ${plan.slug} at the end of the period, ${periodEnd.toISOString()}`,
      };
    }
    return this.upgrade(tenantId, current, plan, input, periodEnd);
  }

  private async upgrade(tenantId: string, current: LiveSubscription, plan: PlanDef, input: AttachInput, periodEnd: Date): Promise<AttachOutcome> {
    const charge = this.checkout?.chargeUpgrade?.bind(this.checkout);
    if (!charge) throw badRequest('provider_not_configured', `plan "${plan.slug}" is paid and no provider can charge the upgrade`);
    const periodStart = this.periodOf(current.anchorAt, current.interval, new Date(periodEnd.getTime() - 1)).start;
    const amountMinor = proratedUpgrade(current.priceMinor, plan.priceMinor, periodStart, periodEnd, new Date());
    const result = await charge({ tenantId, customerId: input.customer, fromSubscriptionId: current.id, plan, amountMinor, periodStart, periodEnd });
    if (result.status === 'declined') throw new AppError(result.code, result.message, { status: 402, details: { reference: result.reference } });
    const row = await this.store.transaction(async (tx) => {
      await this.lockCustomer(tx, tenantId, input.customer);
      if (!(await this.store.endForUpgrade(tx, tenantId, current.id))) return null; // a concurrent attach already replaced it
      return this.store.insertUpgraded(tx, {
        tenantId,
        customerId: input.customer,
        planId: plan.id,
        anchorAt: current.anchorAt,
        periodEnd,
        cancelAtPeriodEnd: current.cancelAtPeriodEnd,
        metadata: { ...(input.metadata ?? {}), upgradedFrom: current.planSlug, upgradeCharge: result.reference },
      });
    });
    await this.customers.invalidate(tenantId, input.customer);
    const live = row ? toSubscription(row, plan.slug) : ((await this.store.liveInGroup(tenantId, input.customer, plan.planGroup ?? null))?.def ?? null);
    return {
      requiresCheckout: false,
      reference: result.reference,
      subscription: live,
      message: `customer ${input.customer} is now on plan ${plan.slug}; charged ${result.amountMinor} (minor units, prorated) for the rest of the period`,
    };
  }

  /** Cancel at period end (paid plans) or at once (free plans); `resume` undoes a cancel at period end. */
  async cancel(tenantId: string, customerId: string, planSlug?: string): Promise<{ subscription: SubscriptionDef; periodEnd: Date | null }> {
    const current = await this.liveFor(tenantId, customerId, planSlug);
    if (current.priceMinor > 0n && current.status !== 'past_due') {
      const periodEnd = current.periodEnd ?? this.periodOf(current.anchorAt, current.interval, new Date()).end;
      await this.store.cancelAtPeriodEnd(tenantId, current.id, periodEnd);
      return { subscription: current.def, periodEnd };
    }
    await this.store.transaction(async (tx) => {
      await this.lockCustomer(tx, tenantId, customerId);
      await this.store.cancelNow(tx, tenantId, current.id);
    });
    await this.customers.invalidate(tenantId, customerId);
    return { subscription: { ...current.def, status: 'canceled' }, periodEnd: null };
  }

  async resume(tenantId: string, customerId: string, planSlug?: string): Promise<{ subscription: SubscriptionDef; periodEnd: Date | null }> {
    const current = await this.liveFor(tenantId, customerId, planSlug);
    await this.store.resume(tenantId, current.id);
    return { subscription: current.def, periodEnd: current.periodEnd };
  }

  private async liveFor(tenantId: string, customerId: string, planSlug?: string): Promise<LiveSubscription> {
    const plan = planSlug ? (await this.catalog.snapshot(tenantId)).plans.get(planSlug) : undefined;
    if (planSlug && !plan) throw catalogErrors.plan_not_found(`no plan "${planSlug}"`);
    const current = await this.store.liveInGroup(tenantId, customerId, plan ? (plan.planGroup ?? null) : undefined);
    if (!current || (plan && current.planId !== plan.id)) {
      throw catalogErrors.subscription_not_found(`customer "${customerId}" has no live subscription${planSlug ? ` to plan "${planSlug}"` : ''}`);
    }
    return current;
  }

  private periodOf(anchorAt: Date, interval: string, at: Date) {
    const p = currentPeriod(anchorAt, interval as ResetInterval, at);
    if (!p) throw new AppError('internal_error', `plan interval "${interval}" has no period`, { status: 500 });
    return p;
  }

  /**
   * Called by the billing side when the checkout of `reference` is paid. Idempotent:
   * a second call returns the already active subscription.
   */
  async activateSubscription(reference: string, tenantId?: string): Promise<SubscriptionDef> {
    const activated = await this.store.transaction(async (tx) => {
      const row = await this.store.lockByCheckout(tx, reference, tenantId);
      if (!row) throw catalogErrors.subscription_not_found(`no subscription for checkout ${reference}`);
      if (row.status === 'active' || row.status === 'trialing') return { row, planSlug: row.planSlug, tenantId: row.tenantId, customerId: row.customerId };
      if (row.status === 'canceled') throw catalogErrors.subscription_canceled(`subscription for checkout ${reference} was canceled`);
      const plan = (await this.catalog.snapshot(row.tenantId)).plans.get(row.planSlug);
      await this.lockCustomer(tx, row.tenantId, row.customerId);
      const anchor = plan ? await this.cancelLiveInGroup(tx, row.tenantId, row.customerId, plan) : null;
      const trialDays = plan?.trialDays ?? 0;
      // The checkout paid the period the (kept or new) anchor puts now in; the renewal sweep charges the next one at its end.
      const anchorAt = anchor ?? new Date();
      const paidUntil = plan && plan.priceMinor > 0n ? currentPeriod(anchorAt, plan.interval as ResetInterval, new Date())?.end ?? null : null;
      const updated = await this.store.activate(tx, row.id, { status: trialDays > 0 ? 'trialing' : 'active', trialDays, anchorAt, paidUntil });
      return { row: updated, planSlug: row.planSlug, tenantId: row.tenantId, customerId: row.customerId };
    });
    await this.customers.invalidate(activated.tenantId, activated.customerId);
    return toSubscription(activated.row, activated.planSlug);
  }

  private async applyFree(tenantId: string, plan: PlanDef, input: AttachInput): Promise<AttachOutcome> {
    const result = await this.store.transaction(async (tx) => {
      await this.lockCustomer(tx, tenantId, input.customer);
      const live = await this.store.liveOfPlan(tx, tenantId, input.customer, plan.id);
      if (live) return { row: live, created: false };
      const anchor = await this.cancelLiveInGroup(tx, tenantId, input.customer, plan);
      const row = await this.store.insertFree(tx, {
        tenantId,
        customerId: input.customer,
        planId: plan.id,
        status: plan.trialDays > 0 ? 'trialing' : 'active',
        trialDays: plan.trialDays,
        metadata: input.metadata ?? {},
        anchorAt: anchor,
      });
      return { row, created: true };
    });
    await this.customers.invalidate(tenantId, input.customer);
    return {
      requiresCheckout: false,
      subscription: toSubscription(result.row, plan.slug),
      message: result.created ? `customer ${input.customer} is now on plan ${plan.slug}` : `customer ${input.customer} is already on plan ${plan.slug}`,
    };
  }

  private async startCheckout(tenantId: string, plan: PlanDef, input: AttachInput): Promise<AttachOutcome> {
    const checkout = this.checkout!;
    const subscriptionId = randomUUID();
    // The pending row is committed before the provider is called (never hold a
    // transaction open across the network); it is removed if checkout fails.
    await this.store.transaction(async (tx) => {
      await this.lockCustomer(tx, tenantId, input.customer);
      await this.store.cancelPending(tx, tenantId, input.customer, plan.id);
      await this.store.insertPending(tx, { id: subscriptionId, tenantId, customerId: input.customer, planId: plan.id, metadata: input.metadata ?? {} });
    });
    let started;
    try {
      started = await checkout.start({
        tenantId,
        customerId: input.customer,
        plan,
        subscriptionId,
        currency: plan.currency, // the catalog's, never the request's (/v1/attach refuses another: currency_mismatch)
        ...(input.callbackUrl ? { callbackUrl: input.callbackUrl } : {}),
        ...(input.metadata ? { metadata: input.metadata } : {}),
      });
    } catch (err) {
      await this.store.removePending(tenantId, subscriptionId);
      throw err;
    }
    const row = await this.store.setCheckoutReference(tenantId, subscriptionId, started.reference);
    return {
      requiresCheckout: true,
      checkoutUrl: started.checkoutUrl,
      reference: started.reference,
      subscription: row ? toSubscription(row, plan.slug) : null,
      message: `complete checkout to start plan ${plan.slug}`,
    };
  }

  /**
   * Serialises plan changes of one customer (two attaches at once must not
   * leave two live plans) and bumps its context version in the same
   * transaction, so events accepted after the change carry the new version.
   */
  private async lockCustomer(tx: Tx, tenantId: string, customerId: string): Promise<void> {
    if (!(await this.store.lockCustomer(tx, tenantId, customerId))) throw catalogErrors.customer_not_found(`no customer "${customerId}"`);
  }

  /**
   * Base plans of one plan group exclude each other; add-on plans stack.
   * Returns the anchor of the subscription it ended: the period belongs to the
   * customer's subscription in this group, not to the attach call, so the plan
   * that replaces it keeps that anchor (the same period, `used` carried over;
   * docs/catalog.md "Switching plans").
   */
  private async cancelLiveInGroup(tx: Tx, tenantId: string, customerId: string, plan: PlanDef): Promise<Date | null> {
    if (plan.isAddon) return null;
    const anchors = await this.store.cancelLiveInGroup(tx, tenantId, customerId, plan.planGroup ?? null);
    return anchors.reduce<Date | null>((latest, a) => (!latest || a > latest ? a : latest), null);
  }
}
