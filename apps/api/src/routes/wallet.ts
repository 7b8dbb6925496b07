import { z } from 'zod';
import {
  errorBodySchema,
  paymentMethodParamsSchema,
  walletQuerySchema,
  walletResultSchema,
  walletSetupBodySchema,
  walletSetupResultSchema,
  type PaymentMethodView,
} from '@tally/contracts';
import type { PaymentMethod } from '@tally/billing';
import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';
import { requireSafeCallbackUrl } from './callback-url.ts';

const view = (m: PaymentMethod): PaymentMethodView => ({
  id: m.id,
  provider: m.provider,
  brand: m.brand,
  last4: m.last4,
  expMonth: m.expMonth,
  expYear: m.expYear,
  createdAt: m.createdAt.toISOString(),
});

export function registerWalletRoutes(routes: RouteTable, ctx: ApiContext): void {
  routes.add({
    method: 'get',
    path: '/wallet',
    summary: "A customer's cards on file",
    tags: ['billing'],
    query: walletQuerySchema,
    responses: { 200: walletResultSchema, 404: errorBodySchema },
    handler: async ({ query, tenant }) => {
      const w = await ctx.billing.wallet.wallet(tenant.tenantId, query.customer);
      return { body: { success: true, hasCard: w.hasCard, card: w.card ? view(w.card) : null, methods: w.methods.map(view) } };
    },
  });

  routes.add({
    method: 'post',
    path: '/wallet/setup',
    summary: "Save a card through the provider's hosted page",
    tags: ['billing'],
    body: walletSetupBodySchema,
    responses: { 200: walletSetupResultSchema, 400: errorBodySchema, 404: errorBodySchema },
    handler: async ({ body, tenant }) => {
      requireSafeCallbackUrl(body.callbackUrl, ctx.config.NODE_ENV);
      const r = await ctx.billing.wallet.setup(tenant.tenantId, body.customer, body.provider, body.callbackUrl);
      return { body: { success: true, ...r } };
    },
  });

  routes.add({
    method: 'delete',
    path: '/wallet/methods/:id',
    summary: 'Remove a card on file',
    tags: ['billing'],
    params: paymentMethodParamsSchema,
    responses: { 200: z.object({ success: z.literal(true) }), 404: errorBodySchema },
    handler: async ({ params, tenant }) => {
      await ctx.billing.wallet.remove(tenant.tenantId, params.id);
      return { body: { success: true } };
    },
  });
}
