import { fromMicro } from '@tally/core';
import {
  errorBodySchema,
  purchaseListQuerySchema,
  purchaseListResultSchema,
  purchaseParamsSchema,
  purchaseViewSchema,
  refundResultSchema,
} from '@tally/contracts';
import { notFound } from '@tally/runtime';
import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';

export function registerPurchaseRoutes(routes: RouteTable, ctx: ApiContext): void {
  routes.add({
    method: 'get',
    path: '/purchases',
    summary: "List purchases and plan renewals, newest first (cursor pagination; filter by customer and status)",
    tags: ['billing'],
    query: purchaseListQuerySchema,
    responses: { 200: purchaseListResultSchema, 400: errorBodySchema },
    handler: async ({ query, tenant }) => {
      // pack purchases and plan charges (renewals, upgrades: docs/billing.md "Subscriptions and renewals")
      const page = await ctx.billing.views.purchasesPage(tenant.tenantId, query);
      return { body: { success: true as const, ...page } };
    },
  });

  routes.add({
    method: 'get',
    path: '/purchases/:reference',
    summary: 'A credit pack purchase or a plan charge (renewal, upgrade) and where it stands',
    tags: ['billing'],
    params: purchaseParamsSchema,
    responses: { 200: purchaseViewSchema, 404: errorBodySchema },
    handler: async ({ params, tenant }) => {
      const p = await ctx.billing.purchases.get(tenant.tenantId, params.reference);
      if (p) return { body: await ctx.billing.views.purchase(p) };
      const charge = await ctx.billing.views.renewalPurchase(tenant.tenantId, params.reference);
      if (!charge) throw notFound('purchase_not_found', `purchase ${params.reference} does not exist`);
      return { body: { success: true as const, ...charge } };
    },
  });

  routes.add({
    method: 'post',
    path: '/purchases/:reference/refund',
    summary: 'Refund a purchase: money back, unspent credits revoked, spent part recorded',
    tags: ['billing'],
    params: purchaseParamsSchema,
    responses: { 200: refundResultSchema, 404: errorBodySchema, 409: errorBodySchema },
    handler: async ({ params, tenant }) => {
      const r = await ctx.billing.refunds.refund(tenant.tenantId, params.reference);
      return {
        body: {
          success: true,
          reference: r.reference,
          status: 'refunded',
          amount: Number(r.amountMinor),
          currency: r.currency,
          revokedCredits: fromMicro(r.revokedMicro),
          spentCredits: fromMicro(r.spentMicro),
        },
      };
    },
  });
}
