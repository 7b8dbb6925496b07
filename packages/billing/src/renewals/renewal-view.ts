import type { Renewal } from './renewal-repo.ts';

/** What a webhook and GET /v1/subscriptions say about one renewal (amounts in minor units). */
export function renewalEventData(r: Renewal): Record<string, unknown> {
  return {
    reference: r.id,
    kind: r.kind,
    subscription: r.subscriptionId,
    customer: r.customerId,
    plan: r.planSlug,
    periodStart: r.periodStart.toISOString(),
    periodEnd: r.periodEnd.toISOString(),
    amount: Number(r.amountMinor),
    currency: r.currency,
    status: r.status,
    attempt: r.attempt,
    nextAttemptAt: r.nextAttemptAt?.toISOString() ?? null,
    failure: r.failureCode ? { code: r.failureCode, message: r.failureMessage ?? '' } : null,
    createdAt: r.createdAt.toISOString(),
    completedAt: r.completedAt?.toISOString() ?? null,
  };
}
