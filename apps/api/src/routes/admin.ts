import { timingSafeEqual, createHash } from 'node:crypto';
import { z } from 'zod';
import { errorBodySchema } from '@tally/contracts';
import { AppError } from '@tally/runtime';
import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';
import { registerRateLimitAdminRoutes } from './admin-rate-limits.ts';
import { registerRollupAdminRoute } from './rollups.ts';

const createTenantBody = z.object({
  name: z.string().min(1).max(256),
  environment: z.enum(['test', 'live']).default('test'),
});

const createdTenantSchema = z.object({
  success: z.literal(true),
  organizationId: z.string(),
  tenantId: z.string(),
  environment: z.enum(['test', 'live']),
  apiKey: z.object({ id: z.string(), prefix: z.string(), secret: z.string() }),
});

// Compare digests so the comparison time does not depend on where the strings differ (or their length).
const sameSecret = (a: string, b: string) =>
  timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

/** Operator routes, outside /v1, guarded by ADMIN_TOKEN; not mounted at all when it is unset. */
export function registerAdminRoutes(routes: RouteTable, ctx: ApiContext): void {
  const token = ctx.config.ADMIN_TOKEN;
  if (!token) return;
  routes.add({
    method: 'post',
    prefix: '',
    path: '/admin/tenants',
    summary: 'Create an organisation environment (tenant) and its first secret key; the secret is shown once',
    tags: ['admin'],
    auth: false,
    body: createTenantBody,
    responses: { 201: createdTenantSchema, 400: errorBodySchema, 401: errorBodySchema },
    handler: async ({ body, req }) => {
      const presented = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (!presented || !sameSecret(presented, token)) throw new AppError('unauthorized', 'missing or wrong admin token', { status: 401 });
      const created = await ctx.tenants.createTenant(body.name, body.environment);
      return { status: 201, body: { success: true, ...created } };
    },
  });
  const tokenMatches = (presented: string | undefined) => !!presented && sameSecret(presented, token);
  registerRateLimitAdminRoutes(routes, ctx, tokenMatches);
  registerRollupAdminRoute(routes, ctx, tokenMatches);
}
