import { toUsageQuery } from '@tally/analytics';
import { usageQuerySchema, usageResponseSchema } from '@tally/contracts';
import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';

/** GET /v1/usage: analytics over ClickHouse, answered from rollups where they suffice. */
export function registerUsageRoutes(routes: RouteTable, ctx: ApiContext): void {
  const { usage } = ctx.analytics;
  routes.add({
    method: 'get',
    path: '/usage',
    summary:
      'Usage analytics: filters (customers, features, creditSystems, from/to, property.<name>=value), groupBy (customer, feature, creditSystem, property:<name>), window (minute|hour|day|month) in a timezone, aggregations (sum_value, sum_credits, count, distinct_customers, max_value)',
    tags: ['analytics'],
    query: usageQuerySchema,
    responses: { 200: usageResponseSchema, 400: null },
    handler: async ({ query, tenant }) => ({ body: await usage.query(toUsageQuery(tenant.tenantId, query)) }),
  });
}
