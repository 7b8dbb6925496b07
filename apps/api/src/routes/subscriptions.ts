import {
  errorBodySchema,
  subscriptionChangeBodySchema,
  subscriptionChangeResultSchema,
  subscriptionsQuerySchema,
  subscriptionsResultSchema,
} from '@tally/contracts';
import { renewalEventData } from '@tally/billing';
import type { LiveSubscription } from '@tally/catalog';
import { notFound } from '@tally/runtime';
import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';

const view = (s: LiveSubscription) => ({
  id: s.id,
  plan: s.planSlug,
  status: s.status,
  anchorAt: s.anchorAt.toISOString(),
  currentPeriodEnd: s.periodEnd?.toISOString() ?? null,
  cancelAtPeriodEnd: s.cancelAtPeriodEnd,
  scheduledPlan: s.scheduledPlanSlug,
});

/** Renewals and plan changes of paid plans (docs/billing.md "Subscriptions and renewals"). */
export function registerSubscriptionRoutes(routes: RouteTable, ctx: ApiContext): void {
  const live = async (tenantId: string, customer: string) => {
    const s = await ctx.subscriptions.live(tenantId, customer);
    if (!s) throw notFound('subscription_not_found', `customer "${customer}" has no live subscription`);
    return s;
  };

  routes.add({
    method: 'get',
    path: '/subscriptions',
    summary: "A customer's live plan (period end, cancel or downgrade pending) and its renewals, newest first",
    tags: ['customers'],
    query: subscriptionsQuerySchema,
    responses: { 200: subscriptionsResultSchema, 400: errorBodySchema, 404: errorBodySchema },
    handler: async ({ query, tenant }) => {
      if (!(await ctx.customers.context(tenant.tenantId, query.customer))) throw notFound('customer_not_found', `no customer "${query.customer}"`);
      const s = await ctx.subscriptions.live(tenant.tenantId, query.customer);
      const renewals = await ctx.billing.views.renewals(tenant.tenantId, query.customer);
      return {
        body: {
          success: true as const,
          subscription: s ? view(s) : null,
          renewals: renewals.map((r) => renewalEventData(r) as ReturnType<typeof renewalEventData> & { kind: 'renewal' }),
        },
      };
    },
  });

  routes.add({
    method: 'post',
    path: '/subscriptions/cancel',
    summary: 'Cancel at the period end (a paid plan keeps working until then; no renewal); a free plan ends at once',
    tags: ['customers'],
    body: subscriptionChangeBodySchema,
    responses: { 200: subscriptionChangeResultSchema, 400: errorBodySchema, 404: errorBodySchema },
    handler: async ({ body, tenant }) => {
      const done = await ctx.subscriptions.cancel(tenant.tenantId, body.customer, body.product);
      const after = await ctx.subscriptions.live(tenant.tenantId, body.customer);
      const subscription = after && after.id === done.subscription.id ? view(after) : { ...view(await liveOrGone(done)), status: 'canceled' as const };
      const message = done.periodEnd ? `plan ${done.subscription.planSlug} ends at ${done.periodEnd.toISOString()}` : `plan ${done.subscription.planSlug} ended`;
      return { body: { success: true as const, subscription, message } };
    },
  });

  routes.add({
    method: 'post',
    path: '/subscriptions/resume',
    summary: 'Undo a cancel at period end: the plan renews as before',
    tags: ['customers'],
    body: subscriptionChangeBodySchema,
    responses: { 200: subscriptionChangeResultSchema, 400: errorBodySchema, 404: errorBodySchema },
    handler: async ({ body, tenant }) => {
      const done = await ctx.subscriptions.resume(tenant.tenantId, body.customer, body.product);
      return { body: { success: true as const, subscription: view(await live(tenant.tenantId, body.customer)), message: `plan ${done.subscription.planSlug} renews` } };
    },
  });
}

/** The canceled free plan's last state, for the answer. */
function liveOrGone(done: { subscription: { id: string; planSlug: string; status: string; anchorAt: Date } }): LiveSubscription {
  return {
    id: done.subscription.id,
    planId: '',
    planSlug: done.subscription.planSlug,
    priceMinor: 0n,
    currency: '',
    interval: '',
    status: 'canceled',
    anchorAt: done.subscription.anchorAt,
    periodEnd: null,
    cancelAtPeriodEnd: false,
    scheduledPlanId: null,
    scheduledPlanSlug: null,
    def: { id: done.subscription.id, planSlug: done.subscription.planSlug, status: 'canceled', anchorAt: done.subscription.anchorAt, trialEndsAt: null },
  };
}
