import { randomUUID } from 'node:crypto';
import { currentPeriod, type PlanDef, type ResetInterval, type SubscriptionDef } from '@tally/core';
import { asDependencyError, withTransaction, type Pool, type Queryable } from '@tally/postgres';
import { AppError, badRequest } from '@tally/runtime';
import { catalogErrors } from '../errors.ts';
import type { CatalogService } from '../catalog/catalog-service.ts';
import type { CustomerData, CustomerService } from '../customers/customer-service.ts';
import type { PlanCheckout } from './plan-checkout.ts';
import { liveInGroup, type LiveSubscription } from './live-subscription.ts';
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

interface SubscriptionRow {
  id: string;
  plan_slug: string;
  status: SubscriptionDef['status'];
  anchor_at: Date;
  trial_ends_at: Date | null;
}

const toSubscription = (r: SubscriptionRow): SubscriptionDef => ({
  id: r.id,
  planSlug: r.plan_slug,
  status: r.status,
  anchorAt: r.anchor_at,
  trialEndsAt: r.trial_ends_at,
});

const RETURNING = `RETURNING id, status, anchor_at, trial_ends_at`;

/** Subscriptions: attach a plan (free at once, paid through the PlanCheckout seam) and activate paid ones. */
export class SubscriptionService {
  private checkout: PlanCheckout | null;

  constructor(
    private readonly pool: Pool,
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

  async attach(tenantId: string, input: AttachInput): Promise<AttachOutcome> {
    const snapshot = await this.catalog.snapshot(tenantId);
    const plan = snapshot.plans.get(input.product);
    if (!plan) throw catalogErrors.plan_not_found(`no plan "${input.product}"`);
    const paid = plan.priceMinor > 0n;
    if (paid && !this.checkout) {
      throw badRequest('provider_not_configured', `plan "${plan.slug}" is paid and no checkout provider is configured for plans`);
    }
    await this.customers.ensure(tenantId, input.customer, input.customerData);
    const current = plan.isAddon ? null : await liveInGroup(this.pool, tenantId, input.customer, plan.planGroup ?? null);
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
      await this.pool.query('UPDATE subscriptions SET scheduled_plan_id = NULL, cancel_at_period_end = false WHERE id = $1 AND tenant_id = $2', [current.id, tenantId]);
      return { requiresCheckout: false, subscription: current.def, message: `customer ${input.customer} stays on plan ${plan.slug}: the scheduled change is undone` };
    }
    if (current.priceMinor === 0n) return null; // from a free plan: checkout or switch, as before
    const periodEnd = current.periodEnd ?? this.periodOf(current.anchorAt, current.interval, new Date()).end;
    if (plan.priceMinor < current.priceMinor) {
      await this.pool.query('UPDATE subscriptions SET scheduled_plan_id = $3 WHERE id = $1 AND tenant_id = $2', [current.id, tenantId, plan.id]);
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
    const row = await this.tx(async (db) => {
      await this.lockCustomer(db, tenantId, input.customer);
      const left = await db.query(
        `UPDATE subscriptions SET status = 'canceled', canceled_at = now(), current_period_end = NULL, scheduled_plan_id = NULL
          WHERE id = $1 AND tenant_id = $2 AND status IN ('active', 'trialing') RETURNING 1`,
        [current.id, tenantId],
      );
      if (!left.rowCount) return null; // a concurrent attach already replaced it
      const { rows } = await db.query<Omit<SubscriptionRow, 'plan_slug'>>(
        `INSERT INTO subscriptions (id, tenant_id, customer_id, plan_id, status, anchor_at, current_period_end, cancel_at_period_end, metadata)
         VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8::jsonb) ${RETURNING}`,
        [randomUUID(), tenantId, input.customer, plan.id, current.anchorAt, periodEnd, current.cancelAtPeriodEnd,
          JSON.stringify({ ...(input.metadata ?? {}), upgradedFrom: current.planSlug, upgradeCharge: result.reference })],
      );
      return rows[0]!;
    });
    await this.customers.invalidate(tenantId, input.customer);
    const live = row ? toSubscription({ ...row, plan_slug: plan.slug }) : ((await liveInGroup(this.pool, tenantId, input.customer, plan.planGroup ?? null))?.def ?? null);
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
      await this.pool.query('UPDATE subscriptions SET cancel_at_period_end = true, current_period_end = $3 WHERE id = $1 AND tenant_id = $2', [current.id, tenantId, periodEnd]);
      return { subscription: current.def, periodEnd };
    }
    await this.tx(async (db) => {
      await this.lockCustomer(db, tenantId, customerId);
      await db.query(`UPDATE subscriptions SET status = 'canceled', canceled_at = now(), current_period_end = NULL WHERE id = $1 AND tenant_id = $2`, [current.id, tenantId]);
    });
    await this.customers.invalidate(tenantId, customerId);
    return { subscription: { ...current.def, status: 'canceled' }, periodEnd: null };
  }

  async resume(tenantId: string, customerId: string, planSlug?: string): Promise<{ subscription: SubscriptionDef; periodEnd: Date | null }> {
    const current = await this.liveFor(tenantId, customerId, planSlug);
    await this.pool.query('UPDATE subscriptions SET cancel_at_period_end = false WHERE id = $1 AND tenant_id = $2', [current.id, tenantId]);
    return { subscription: current.def, periodEnd: current.periodEnd };
  }

  private async liveFor(tenantId: string, customerId: string, planSlug?: string): Promise<LiveSubscription> {
    const plan = planSlug ? (await this.catalog.snapshot(tenantId)).plans.get(planSlug) : undefined;
    if (planSlug && !plan) throw catalogErrors.plan_not_found(`no plan "${planSlug}"`);
    const current = await liveInGroup(this.pool, tenantId, customerId, plan ? (plan.planGroup ?? null) : undefined);
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
    const activated = await this.tx(async (db) => {
      const { rows } = await db.query<SubscriptionRow & { tenant_id: string; customer_id: string; plan_id: string }>(
        `SELECT s.id, s.tenant_id, s.customer_id, s.plan_id, p.slug AS plan_slug, s.status, s.anchor_at, s.trial_ends_at
           FROM subscriptions s JOIN plans p ON p.id = s.plan_id
          WHERE s.checkout_reference = $1 AND ($2::uuid IS NULL OR s.tenant_id = $2::uuid)
          FOR UPDATE OF s`,
        [reference, tenantId ?? null],
      );
      const row = rows[0];
      if (!row) throw catalogErrors.subscription_not_found(`no subscription for checkout ${reference}`);
      if (row.status === 'active' || row.status === 'trialing') return { row, tenantId: row.tenant_id, customerId: row.customer_id };
      if (row.status === 'canceled') throw catalogErrors.subscription_canceled(`subscription for checkout ${reference} was canceled`);
      const plan = (await this.catalog.snapshot(row.tenant_id)).plans.get(row.plan_slug);
      await this.lockCustomer(db, row.tenant_id, row.customer_id);
      const anchor = plan ? await this.cancelLiveInGroup(db, row.tenant_id, row.customer_id, plan) : null;
      const trialDays = plan?.trialDays ?? 0;
      // The checkout paid the period the (kept or new) anchor puts now in; the renewal sweep charges the next one at its end.
      const anchorAt = anchor ?? new Date();
      const paidUntil = plan && plan.priceMinor > 0n ? currentPeriod(anchorAt, plan.interval as ResetInterval, new Date())?.end ?? null : null;
      const updated = await db.query<Omit<SubscriptionRow, 'plan_slug'>>(
        `UPDATE subscriptions SET status = $2, anchor_at = $4::timestamptz, current_period_end = $5::timestamptz,
                trial_ends_at = CASE WHEN $3::int > 0 THEN now() + make_interval(days => $3::int) END
          WHERE id = $1 ${RETURNING}`,
        [row.id, trialDays > 0 ? 'trialing' : 'active', trialDays, anchorAt, paidUntil],
      );
      return { row: { ...updated.rows[0]!, plan_slug: row.plan_slug }, tenantId: row.tenant_id, customerId: row.customer_id };
    });
    await this.customers.invalidate(activated.tenantId, activated.customerId);
    return toSubscription(activated.row);
  }

  private async applyFree(tenantId: string, plan: PlanDef, input: AttachInput): Promise<AttachOutcome> {
    const result = await this.tx(async (db) => {
      await this.lockCustomer(db, tenantId, input.customer);
      const { rows: live } = await db.query<SubscriptionRow>(
        `SELECT s.id, $3::text AS plan_slug, s.status, s.anchor_at, s.trial_ends_at FROM subscriptions s
          WHERE s.tenant_id = $1 AND s.customer_id = $2 AND s.plan_id = $4 AND s.status IN ('active', 'trialing')`,
        [tenantId, input.customer, plan.slug, plan.id],
      );
      if (live[0]) return { row: live[0], created: false };
      const anchor = await this.cancelLiveInGroup(db, tenantId, input.customer, plan);
      const { rows } = await db.query<Omit<SubscriptionRow, 'plan_slug'>>(
        `INSERT INTO subscriptions (id, tenant_id, customer_id, plan_id, status, anchor_at, trial_ends_at, metadata)
         VALUES ($1, $2, $3, $4, $5, COALESCE($8::timestamptz, now()),
                 CASE WHEN $6::int > 0 THEN now() + make_interval(days => $6::int) END, $7::jsonb)
         ${RETURNING}`,
        [randomUUID(), tenantId, input.customer, plan.id, plan.trialDays > 0 ? 'trialing' : 'active', plan.trialDays,
          JSON.stringify(input.metadata ?? {}), anchor],
      );
      return { row: { ...rows[0]!, plan_slug: plan.slug }, created: true };
    });
    await this.customers.invalidate(tenantId, input.customer);
    return {
      requiresCheckout: false,
      subscription: toSubscription(result.row),
      message: result.created ? `customer ${input.customer} is now on plan ${plan.slug}` : `customer ${input.customer} is already on plan ${plan.slug}`,
    };
  }

  private async startCheckout(tenantId: string, plan: PlanDef, input: AttachInput): Promise<AttachOutcome> {
    const checkout = this.checkout!;
    const subscriptionId = randomUUID();
    // The pending row is committed before the provider is called (never hold a
    // transaction open across the network); it is removed if checkout fails.
    await this.tx(async (db) => {
      await this.lockCustomer(db, tenantId, input.customer);
      await db.query(
        `UPDATE subscriptions SET status = 'canceled', canceled_at = now()
          WHERE tenant_id = $1 AND customer_id = $2 AND plan_id = $3 AND status = 'pending'`,
        [tenantId, input.customer, plan.id],
      );
      await db.query(
        `INSERT INTO subscriptions (id, tenant_id, customer_id, plan_id, status, anchor_at, metadata)
         VALUES ($1, $2, $3, $4, 'pending', now(), $5::jsonb)`,
        [subscriptionId, tenantId, input.customer, plan.id, JSON.stringify(input.metadata ?? {})],
      );
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
      await this.pool.query('DELETE FROM subscriptions WHERE id = $1 AND tenant_id = $2', [subscriptionId, tenantId]).catch(() => {});
      throw err;
    }
    const { rows } = await this.pool.query<Omit<SubscriptionRow, 'plan_slug'>>(
      `UPDATE subscriptions SET checkout_reference = $3 WHERE id = $1 AND tenant_id = $2 ${RETURNING}`,
      [subscriptionId, tenantId, started.reference],
    );
    return {
      requiresCheckout: true,
      checkoutUrl: started.checkoutUrl,
      reference: started.reference,
      subscription: rows[0] ? toSubscription({ ...rows[0], plan_slug: plan.slug }) : null,
      message: `complete checkout to start plan ${plan.slug}`,
    };
  }

  /**
   * Serialises plan changes of one customer (two attaches at once must not
   * leave two live plans) and bumps its context version in the same
   * transaction, so events accepted after the change carry the new version.
   */
  private async lockCustomer(db: Queryable, tenantId: string, customerId: string): Promise<void> {
    const { rows } = await db.query(
      'UPDATE customers SET context_version = context_version + 1 WHERE tenant_id = $1 AND id = $2 RETURNING 1',
      [tenantId, customerId],
    );
    if (!rows.length) throw catalogErrors.customer_not_found(`no customer "${customerId}"`);
  }

  /**
   * Base plans of one plan group exclude each other; add-on plans stack.
   * Returns the anchor of the subscription it ended: the period belongs to the
   * customer's subscription in this group, not to the attach call, so the plan
   * that replaces it keeps that anchor (the same period, `used` carried over;
   * docs/catalog.md "Switching plans").
   */
  private async cancelLiveInGroup(db: Queryable, tenantId: string, customerId: string, plan: PlanDef): Promise<Date | null> {
    if (plan.isAddon) return null;
    const { rows } = await db.query<{ anchor_at: Date }>(
      `UPDATE subscriptions s SET status = 'canceled', canceled_at = now(), current_period_end = NULL
         FROM plans p
        WHERE p.id = s.plan_id AND s.tenant_id = $1 AND s.customer_id = $2 AND s.status IN ('active', 'trialing', 'past_due')
          AND NOT p.is_addon AND p.plan_group IS NOT DISTINCT FROM $3
        RETURNING s.anchor_at`,
      [tenantId, customerId, plan.planGroup ?? null],
    );
    return rows.reduce<Date | null>((latest, r) => (!latest || r.anchor_at > latest ? r.anchor_at : latest), null);
  }

  private async tx<T>(fn: (db: Queryable) => Promise<T>): Promise<T> {
    try {
      return await withTransaction(this.pool, fn);
    } catch (err) {
      throw asDependencyError(err);
    }
  }
}
