import { errorBodySchema, repairRollupsBodySchema, repairRollupsResultSchema } from '@tally/contracts';
import { RollupRepairService } from '@tally/analytics';
import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';

const dayStart = (day: string) => new Date(`${day}T00:00:00Z`);

/**
 * repairRollups over HTTP: recompute the calling tenant's hourly and daily
 * rollups from its raw events over whole UTC days (after a replay wrote a raw
 * row twice, say). Run it over closed days; see docs/operator-api.md.
 */
export function registerRollupRoutes(
  routes: RouteTable,
  ctx: ApiContext,
  repairs = new RollupRepairService({ clickhouse: ctx.clickhouse, database: ctx.config.CLICKHOUSE_DATABASE, redis: ctx.redis }),
): void {
  routes.add({
    method: 'post',
    path: '/usage/repair',
    summary: 'Recompute the rollups of whole UTC days [from, to) from the raw events; answers how many keys were corrected (409 while another repair of the tenant runs)',
    tags: ['analytics'],
    body: repairRollupsBodySchema,
    responses: { 200: repairRollupsResultSchema, 400: errorBodySchema, 409: errorBodySchema, 503: errorBodySchema },
    handler: async ({ body, tenant }) => {
      const corrected = await repairs.repair(tenant.tenantId, dayStart(body.from), dayStart(body.to));
      return { body: { success: true as const, from: body.from, to: body.to, corrected } };
    },
  });
}
