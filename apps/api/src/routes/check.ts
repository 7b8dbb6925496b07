import { checkRequestSchema, checkResponseSchema, errorBodySchema } from '@tally/contracts';
import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';

export function registerCheckRoutes(routes: RouteTable, ctx: ApiContext): void {
  routes.add({
    method: 'post',
    path: '/check',
    summary: 'May this customer use this feature now? With sendEvent, check and debit atomically',
    tags: ['metering'],
    body: checkRequestSchema,
    responses: { 200: checkResponseSchema, 400: errorBodySchema, 409: errorBodySchema, 503: errorBodySchema },
    handler: async ({ body, tenant }) => ({ body: await ctx.metering.checks.check(tenant.tenantId, body) }),
  });
}
