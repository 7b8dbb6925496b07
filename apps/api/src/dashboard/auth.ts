import type { RequestHandler } from 'express';
import type { TenantService } from '@tally/catalog';
import { requireApiKey, refuseBeforeBody, type ApiKeyAuthOptions } from '../http/auth.ts';
import { sessionCookie } from './cookies.ts';
import { assertCsrf, assertOwnOrigin } from './guard.ts';
import type { SessionService } from './sessions.ts';

const refusal = (code: string, message: string) => ({ success: false, error: { code, message } });

/**
 * /v1 authentication: `Authorization: Bearer` exactly as before (it wins when both are sent);
 * otherwise the dashboard session cookie, which acts as the key that opened it, and then every
 * write needs the CSRF header and an Origin, when sent, must be the API's own. Runs before any body
 * is read, like the key check.
 */
export function requireKeyOrSession(tenants: TenantService, sessions: SessionService, publicUrl: string, options: ApiKeyAuthOptions): RequestHandler {
  const byKey = requireApiKey(tenants, options);
  return async (req, res, next) => {
    const token = req.headers.authorization === undefined ? sessionCookie(req) : undefined;
    if (token === undefined) return byKey(req, res, next);
    const session = await sessions.resolve(token);
    if (!session) {
      refuseBeforeBody(req, res, 401, refusal('unauthorized', 'the dashboard session expired, was signed out or its API key was revoked'));
      return;
    }
    try {
      assertOwnOrigin(req, publicUrl);
      assertCsrf(req, token);
    } catch (err) {
      const e = err as { status: number; code: string; message: string };
      refuseBeforeBody(req, res, e.status, refusal(e.code, e.message));
      return;
    }
    res.locals.tenant = session.tenant;
    res.locals.dashboardSession = session;
    next();
  };
}
