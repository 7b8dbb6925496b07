import { currentPeriod, RESET_INTERVALS, type CustomerDef, type ResetInterval, type SubscriptionDef } from '@tally/core';

export const customerView = (c: CustomerDef) => ({
  id: c.id,
  email: c.email,
  name: c.name,
  metadata: c.metadata,
  createdAt: c.createdAt.toISOString(),
  updatedAt: c.updatedAt.toISOString(),
});

/** A subscription with its current billing period (from the plan's interval, counted from the anchor). */
export function subscriptionView(s: SubscriptionDef, interval: string | undefined, now = new Date()) {
  const reset = (RESET_INTERVALS as readonly string[]).includes(interval ?? '') ? (interval as ResetInterval) : 'monthly';
  const period = currentPeriod(s.anchorAt, reset, now);
  return {
    id: s.id,
    plan: s.planSlug,
    status: s.status,
    anchorAt: s.anchorAt.toISOString(),
    trialEndsAt: s.trialEndsAt?.toISOString() ?? null,
    currentPeriodStart: period?.start.toISOString() ?? null,
    currentPeriodEnd: period?.end.toISOString() ?? null,
  };
}
