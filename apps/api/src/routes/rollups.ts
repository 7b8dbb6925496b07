import { z } from 'zod';
import { errorBodySchema, repairRollupsBodySchema, repairRollupsResultSchema } from '@tally/contracts';
import type { RollupRepairService } from '@tally/analytics';
import { catalogErrors } from '@tally/catalog';
import { AppError } from '@tally/runtime';
import type { Request } from 'express';
import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';

const dayStart = (day: string) => new Date(`${day}T00:00:00Z`);
const responses = { 200: repairRollupsResultSchema, 400: errorBodySchema, 401: errorBodySchema, 409: errorBodySchema, 503: errorBodySchema };

const repairsOf = (ctx: ApiContext): RollupRepairService => ctx.analytics.repairs;

/**
 * repairRollups over HTTP: recompute the calling tenant's hourly and daily
 * rollups from its raw events over whole UTC days (after a replay wrote a raw
 * row twice, say). Run it over closed days; see docs/operator-api.md.
 */
export function registerRollupRoutes(routes: RouteTable, ctx: ApiContext, repairs = repairsOf(ctx)): void {
  routes.add({
    method: 'post',
    path: '/usage/repair',
    summary: 'Recompute the rollups of whole UTC days [from, to) from the raw events; answers how many keys were corrected (409 while another repair of the tenant runs)',
    tags: ['analytics'],
    body: repairRollupsBodySchema,
    responses,
    handler: async ({ body, tenant }) => {
      const corrected = await repairs.repair(tenant.tenantId, dayStart(body.from), dayStart(body.to));
      return { body: { success: true as const, from: body.from, to: body.to, corrected } };
    },
  });
}

/**
 * The same repair for the deployment's operator (ADMIN_TOKEN), for any tenant
 * by id: a replay after a crash is the deployment's incident, not the tenant's.
 * One repair per tenant at a time whichever route starts it (the lock is the service's).
 */
export function registerRollupAdminRoute(
  routes: RouteTable,
  ctx: ApiContext,
  tokenMatches: (presented: string | undefined) => boolean,
  repairs = repairsOf(ctx),
): void {
  const guard = (req: Request) => {
    const presented = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!tokenMatches(presented)) throw new AppError('unauthorized', 'missing or wrong admin token', { status: 401 });
  };
  routes.add({
    method: 'post',
    prefix: '',
    path: '/admin/tenants/:tenantId/usage/repair',
    summary: "Operator (ADMIN_TOKEN): recompute a tenant's rollups of whole UTC days [from, to) from its raw events, as POST /v1/usage/repair does",
    tags: ['admin'],
    auth: false,
    params: z.object({ tenantId: z.uuid() }),
    body: repairRollupsBodySchema,
    responses: { ...responses, 404: errorBodySchema },
    handler: async ({ params, body, req }) => {
      guard(req);
      if (!(await ctx.tenants.exists(params.tenantId))) throw catalogErrors.tenant_not_found('no such tenant');
      const corrected = await repairs.repair(params.tenantId, dayStart(body.from), dayStart(body.to));
      return { body: { success: true as const, from: body.from, to: body.to, corrected } };
    },
  });
}
