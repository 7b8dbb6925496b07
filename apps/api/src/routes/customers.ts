import {
  customerBalancesQuerySchema,
  customerBalancesResultSchema,
  customerListQuerySchema,
  customerListResultSchema,
  customerDetailResultSchema,
  toPage,
  customerParamsSchema,
  customerResultSchema,
  errorBodySchema,
  upsertCustomerBodySchema,
} from '@tally/contracts';
import { notFound } from '@tally/runtime';
import { fromMicro } from '@tally/core';
import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';
import { customerView, subscriptionView } from './customer-views.ts';

export function registerCustomerRoutes(routes: RouteTable, ctx: Pick<ApiContext, 'customers' | 'catalog' | 'balances' | 'customerReads'>): void {
  routes.add({
    method: 'post',
    path: '/customers',
    summary: 'Create or update a customer (resolved by id, then by email)',
    tags: ['customers'],
    body: upsertCustomerBodySchema,
    responses: { 200: customerResultSchema, 400: errorBodySchema, 409: errorBodySchema },
    handler: async ({ body, tenant }) => {
      const customer = await ctx.customers.upsert(tenant.tenantId, {
        ...(body.email !== undefined ? { email: body.email } : {}),
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

  routes.add({
    method: 'get',
    path: '/customers',
    summary: 'List customers, oldest first (cursor pagination; search matches id, email or name, case-insensitive)',
    tags: ['customers'],
    query: customerListQuerySchema,
    responses: { 200: customerListResultSchema, 400: errorBodySchema },
    handler: async ({ query, tenant }) => {
      const rows = await ctx.customerReads.list(tenant.tenantId, { limit: query.limit, after: query.cursor, search: query.search });
      const page = toPage(rows, query.limit, (r) => [r.created_key, r.id], (r) =>
        customerView({ id: r.id, email: r.email, name: r.name, metadata: r.metadata, createdAt: r.created_at, updatedAt: r.updated_at }),
      );
      return { body: { success: true as const, ...page } };
    },
  });

  routes.add({
    method: 'get',
    path: '/customers/:id/balances',
    summary: "A customer's balance per credit system (plan / purchased / overage), grants with credits left, purchases, subscription history and recent events",
    tags: ['customers'],
    params: customerParamsSchema,
    query: customerBalancesQuerySchema,
    responses: { 200: customerBalancesResultSchema, 400: errorBodySchema, 404: errorBodySchema },
    handler: async ({ params, query, tenant }) => {
      const t = tenant.tenantId;
      const context = await ctx.customers.context(t, params.id);
      if (!context) throw notFound('customer_not_found', `no customer "${params.id}"`);
      const snapshot = await ctx.catalog.snapshot(t);
      // The same balance check answers from (Redis, rebuilt from Postgres + ClickHouse when missing).
      const balances = await Promise.all(
        [...snapshot.creditSystems.keys()].sort().map(async (creditSystem) => {
          const b = await ctx.balances.balance({ tenantId: t, customerId: params.id, creditSystem });
          return {
            creditSystem,
            plan: fromMicro(b.planMicro),
            purchased: fromMicro(b.purchasedMicro),
            total: fromMicro(b.totalMicro),
            unlimited: b.unlimited,
            used: fromMicro(b.usedMicro),
            overage: fromMicro(b.overageMicro),
          };
        }),
      );
      const [ledger, purchases, subscriptions, events] = await Promise.all([
        ctx.customerReads.grants(t, params.id),
        ctx.customerReads.purchases(t, params.id),
        ctx.customerReads.subscriptions(t, params.id),
        ctx.customerReads.recentEvents(t, params.id, query.events),
      ]);
      const left = await ctx.balances.grantsLeft(t, params.id, ledger);
      const grants = ledger.map((g) => ({ ...g, remaining: fromMicro(left.get(g.id) ?? 0n) }));
      return {
        body: { success: true as const, customer: customerView(context.customer), balances, grants, purchases, subscriptions, recentEvents: events },
      };
    },
  });
}
