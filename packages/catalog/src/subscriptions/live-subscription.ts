import type { SubscriptionDef } from '@tally/core';
import type { Queryable } from '@tally/postgres';

/** A customer's live base-plan subscription with what plan changes and renewals need. */
export interface LiveSubscription {
  id: string;
  planId: string;
  planSlug: string;
  priceMinor: bigint;
  currency: string;
  interval: string;
  status: SubscriptionDef['status'];
  anchorAt: Date;
  /** End of the paid period (null: free plan, or from before renewals). */
  periodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  scheduledPlanId: string | null;
  scheduledPlanSlug: string | null;
  def: SubscriptionDef;
}

interface Row {
  id: string;
  plan_id: string;
  slug: string;
  price_minor: bigint;
  currency: string;
  interval: string;
  status: SubscriptionDef['status'];
  anchor_at: Date;
  trial_ends_at: Date | null;
  current_period_end: Date | null;
  cancel_at_period_end: boolean;
  scheduled_plan_id: string | null;
  scheduled_slug: string | null;
}

/**
 * The live (active, trialing, past_due) base-plan subscription of a customer in a plan group;
 * `group` undefined: in any group (the newest).
 */
export async function liveInGroup(db: Queryable, tenantId: string, customerId: string, group: string | null | undefined): Promise<LiveSubscription | null> {
  const { rows } = await db.query<Row>(
    `SELECT s.id, s.plan_id, p.slug, p.price_minor, p.currency, p.interval, s.status, s.anchor_at, s.trial_ends_at,
            s.current_period_end, s.cancel_at_period_end, s.scheduled_plan_id, sp.slug AS scheduled_slug
       FROM subscriptions s JOIN plans p ON p.id = s.plan_id LEFT JOIN plans sp ON sp.id = s.scheduled_plan_id
      WHERE s.tenant_id = $1 AND s.customer_id = $2 AND s.status IN ('active', 'trialing', 'past_due') AND NOT p.is_addon
        AND ($4 OR p.plan_group IS NOT DISTINCT FROM $3)
      ORDER BY s.created_at DESC LIMIT 1`,
    [tenantId, customerId, group ?? null, group === undefined],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    id: r.id,
    planId: r.plan_id,
    planSlug: r.slug,
    priceMinor: r.price_minor,
    currency: r.currency,
    interval: r.interval,
    status: r.status,
    anchorAt: r.anchor_at,
    periodEnd: r.current_period_end,
    cancelAtPeriodEnd: r.cancel_at_period_end,
    scheduledPlanId: r.scheduled_plan_id,
    scheduledPlanSlug: r.scheduled_slug,
    def: { id: r.id, planSlug: r.slug, status: r.status, anchorAt: r.anchor_at, trialEndsAt: r.trial_ends_at },
  };
}
