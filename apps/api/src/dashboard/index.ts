import { fileURLToPath } from 'node:url';
import { Router } from 'express';
import type { Pool } from '@tally/postgres';
import type { ApiContext } from '../context.ts';
import { sessionRoutes } from './session-routes.ts';
import { SessionService } from './sessions.ts';
import { securityHeaders, staticApp } from './static.ts';

export { requireKeyOrSession } from './auth.ts';
export { SessionService } from './sessions.ts';

const DEFAULT_DIST = fileURLToPath(new URL('../../../dashboard/dist', import.meta.url));

export const createSessions = (pool: Pool, ttlSeconds: number) => new SessionService(pool, ttlSeconds);

/** Everything under /dashboard: the session routes, then the built app; the security headers on all of it. */
export function dashboardRouter(ctx: Pick<ApiContext, 'tenants' | 'sessions' | 'config' | 'limits'>): Router {
  const router = Router();
  router.use(securityHeaders);
  router.use(
    '/api',
    sessionRoutes({
      tenants: ctx.tenants,
      sessions: ctx.sessions,
      publicUrl: ctx.config.publicUrl,
      ttlSeconds: ctx.config.DASHBOARD_SESSION_TTL_SECONDS,
      failures: ctx.limits.authFailures,
    }),
  );
  router.use('/api', (_req, res) => {
    res.status(404).json({ success: false, error: { code: 'not_found', message: 'no such route' } });
  });
  router.use(staticApp(ctx.config.DASHBOARD_DIST_DIR ?? DEFAULT_DIST));
  return router;
}
