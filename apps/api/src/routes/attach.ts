import { attachBodySchema, attachResultSchema, errorBodySchema } from '@tally/contracts';
import { badRequest } from '@tally/runtime';
import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';
import { requireSafeCallbackUrl } from './callback-url.ts';
import { subscriptionView } from './customer-views.ts';

export function registerAttachRoutes(routes: RouteTable, ctx: ApiContext): void {
  routes.add({
    method: 'post',
    path: '/attach',
    summary: 'Subscribe a customer to a plan: free plans apply at once, paid plans return a checkout URL',
    tags: ['customers'],
    body: attachBodySchema,
    responses: { 200: attachResultSchema, 400: errorBodySchema, 404: errorBodySchema },
    handler: async ({ body, tenant }) => {
      requireSafeCallbackUrl(body.callbackUrl, ctx.config.NODE_ENV);
      // The plan is sold at the catalog's price in the catalog's currency; another currency is refused before anything changes.
      const listed = (await ctx.catalog.snapshot(tenant.tenantId)).plans.get(body.product);
      if (listed && body.currency !== undefined && body.currency !== listed.currency.toUpperCase()) {
        throw badRequest('currency_mismatch', `plan "${listed.slug}" is sold in ${listed.currency.toUpperCase()}, not ${body.currency}`, {
          plan: listed.slug,
          currency: listed.currency.toUpperCase(),
        });
      }
      const outcome = await ctx.subscriptions.attach(tenant.tenantId, body);
      const plan = (await ctx.catalog.snapshot(tenant.tenantId)).plans.get(body.product);
      return {
        body: {
          success: true,
          requiresCheckout: outcome.requiresCheckout,
          ...(outcome.checkoutUrl ? { checkoutUrl: outcome.checkoutUrl } : {}),
          ...(outcome.reference ? { reference: outcome.reference } : {}),
          subscription: outcome.subscription ? subscriptionView(outcome.subscription, plan?.interval) : null,
          message: outcome.message,
        },
      };
    },
  });
}
