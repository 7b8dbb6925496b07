import { z } from 'zod';
import { errorBodySchema } from '@tally/contracts';
import { AppError } from '@tally/runtime';
import type { ApiContext } from '../context.ts';
import type { Request } from 'express';
import type { RouteTable } from '../http/route.ts';

const rate = z.number().int().min(0).max(1_000_000).nullable();
/** The whole set of a tenant's overrides: a class left out (or null) follows the deployment default; 0 = no limit. */
const overridesBody = z.strictObject({ ingest: rate.optional(), check: rate.optional(), other: rate.optional() });
const perClass = (value: z.ZodType) => z.object({ ingest: value, check: value, other: value });
const rateLimitsSchema = z.object({
  success: z.literal(true),
  tenantId: z.string(),
  /** The tenant's own rates (null = default). */
  overrides: perClass(z.number().int().nullable()),
  /** What it is limited by now, per second (0 = no limit); a burst of `burstSeconds` of it passes at once. */
  effective: perClass(z.number().int()),
  burstSeconds: z.number().int(),
});
const params = z.object({ tenantId: z.uuid() });

/** GET / PUT / DELETE /admin/tenants/:tenantId/rate-limits (docs/operations.md "Rate limits"), ADMIN_TOKEN. */
export function registerRateLimitAdminRoutes(routes: RouteTable, ctx: Pick<ApiContext, 'rateLimits'>, tokenMatches: (presented: string | undefined) => boolean): void {
  const limits = ctx.rateLimits;
  const guard = (req: Request) => {
    const presented = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!tokenMatches(presented)) throw new AppError('unauthorized', 'missing or wrong admin token', { status: 401 });
  };
  const existing = async (tenantId: string) => {
    if (!(await limits.overrides.hasTenant(tenantId))) throw new AppError('tenant_not_found', 'no such tenant', { status: 404 });
  };
  const answer = async (tenantId: string) => ({
    body: {
      success: true as const,
      tenantId,
      overrides: await limits.overrides.get(tenantId),
      effective: await limits.ratesOf(tenantId),
      burstSeconds: limits.burstSeconds,
    },
  });
  const common = { prefix: '', path: '/admin/tenants/:tenantId/rate-limits', tags: ['admin'], auth: false as const, params };
  const responses = { 200: rateLimitsSchema, 400: errorBodySchema, 401: errorBodySchema, 404: errorBodySchema };

  routes.add({
    ...common,
    method: 'get',
    summary: "A tenant's rate limits: its overrides and the rates in force",
    responses,
    handler: async ({ params, req }) => {
      guard(req);
      await existing(params.tenantId);
      return answer(params.tenantId);
    },
  });
  routes.add({
    ...common,
    method: 'put',
    summary: "Set a tenant's rate limits (in force in every API process before the answer leaves)",
    body: overridesBody,
    responses,
    handler: async ({ params, body, req }) => {
      guard(req);
      await existing(params.tenantId);
      await limits.overrides.set(params.tenantId, { ingest: body.ingest ?? null, check: body.check ?? null, other: body.other ?? null });
      return answer(params.tenantId);
    },
  });
  routes.add({
    ...common,
    method: 'delete',
    summary: "Drop a tenant's rate limit overrides (back to the deployment defaults)",
    responses,
    handler: async ({ params, req }) => {
      guard(req);
      await existing(params.tenantId);
      await limits.overrides.clear(params.tenantId);
      return answer(params.tenantId);
    },
  });
}
