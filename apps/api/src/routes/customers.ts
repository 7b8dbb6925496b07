import {
  customerDetailResultSchema,
  customerParamsSchema,
  customerResultSchema,
  errorBodySchema,
  upsertCustomerBodySchema,
} from '@tally/contracts';
import { notFound } from '@tally/runtime';
import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';
import { customerView, subscriptionView } from './customer-views.ts';

export function registerCustomerRoutes(routes: RouteTable, ctx: ApiContext): void {
  routes.add({
    method: 'post',
    path: '/customers',
    summary: 'Create or update a customer (resolved by id, then by email)',
    tags: ['customers'],
    body: upsertCustomerBodySchema,
    responses: { 200: customerResultSchema, 400: errorBodySchema, 409: errorBodySchema },
    handler: async ({ body, tenant }) => {
      const customer = await ctx.customers.upsert(tenant.tenantId, {
        email: body.email,
        ...(body.id !== undefined ? { id: body.id } : {}),
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.metadata !== undefined ? { metadata: body.metadata } : {}),
      });
      return { body: { success: true, ...customerView(customer) } };
    },
  });

  routes.add({
    method: 'get',
    path: '/customers/:id',
    summary: 'A customer and its live subscription',
    tags: ['customers'],
    params: customerParamsSchema,
    responses: { 200: customerDetailResultSchema, 404: errorBodySchema },
    handler: async ({ params, tenant }) => {
      const context = await ctx.customers.context(tenant.tenantId, params.id);
      if (!context) throw notFound('customer_not_found', `no customer "${params.id}"`);
      const plan = context.subscription ? (await ctx.catalog.snapshot(tenant.tenantId)).plans.get(context.subscription.planSlug) : undefined;
      return {
        body: {
          success: true,
          ...customerView(context.customer),
          subscription: context.subscription ? subscriptionView(context.subscription, plan?.interval) : null,
        },
      };
    },
  });
}
