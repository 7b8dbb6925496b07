import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { AppError, ValidationError } from '@tally/runtime';
import type { TenantService } from '@tally/catalog';
import { clientAddress, type WindowLimiter } from '../http/rate-limit.ts';
import type { Tenant } from '../http/tenant.ts';
import { clearSessionCookie, sessionCookie, setSessionCookie } from './cookies.ts';
import { assertCsrf, assertOwnOrigin } from './guard.ts';
import { csrfTokenOf, type SessionService } from './sessions.ts';

export interface SessionRoutesOptions {
  tenants: TenantService;
  sessions: SessionService;
  publicUrl: string;
  ttlSeconds: number;
  failures?: WindowLimiter;
}

const signInBody = z.object({ apiKey: z.string().min(1).max(200) }).strict();

const answer = (tenant: Tenant, token: string) => ({
  success: true,
  tenant: { id: tenant.tenantId, environment: tenant.environment },
  csrfToken: csrfTokenOf(token),
});

const unauthorized = (message: string) => new AppError('unauthorized', message, { status: 401 });

/**
 * POST / GET / DELETE /dashboard/api/session. The key is read from the body, checked like a Bearer
 * key (the same limit on refused keys per address), and forgotten: it is never stored, logged or
 * answered back. Answers are never cached.
 */
export function sessionRoutes(options: SessionRoutesOptions): Router {
  const { tenants, sessions, publicUrl, ttlSeconds, failures } = options;
  const secure = new URL(publicUrl).protocol === 'https:';
  const router = Router();
  router.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  const current = async (req: Request) => {
    const token = sessionCookie(req);
    const session = token === undefined ? null : await sessions.resolve(token);
    return session && token ? { session, token } : null;
  };

  router.post('/session', express.json({ limit: '4kb' }), async (req: Request, res: Response) => {
    assertOwnOrigin(req, publicUrl); // no cross-site sign-in (login CSRF)
    const parsed = signInBody.safeParse(req.body ?? {});
    if (!parsed.success) throw new ValidationError('body must be { "apiKey": "sk_…" }', [{ path: 'apiKey', message: 'a secret API key is required' }]);
    const address = clientAddress(req.socket.remoteAddress);
    const wait = failures ? await failures.blocked(address).catch(() => null) : null;
    if (wait !== null) {
      throw new AppError('too_many_failed_authentications', `too many refused API keys from this address; retry in ${wait} s`, { status: 429, retryable: true, retryAfterSeconds: wait });
    }
    const identity = await tenants.authenticate(parsed.data.apiKey);
    if (!identity) {
      if (failures) await failures.hit(address).catch(() => {});
      throw unauthorized('unknown or revoked API key');
    }
    const tenant: Tenant = { tenantId: identity.tenantId, organizationId: identity.organizationId, environment: identity.environment, apiKeyId: identity.apiKeyId };
    const previous = await current(req);
    if (previous) await sessions.revoke(previous.session.id); // signing in again ends the old session
    const { token } = await sessions.open(tenant);
    setSessionCookie(res, token, ttlSeconds, secure);
    res.status(200).json(answer(tenant, token));
  });

  router.get('/session', async (req: Request, res: Response) => {
    const found = await current(req);
    if (!found) throw unauthorized('no dashboard session (signed out or expired)');
    res.status(200).json(answer(found.session.tenant, found.token));
  });

  router.delete('/session', async (req: Request, res: Response) => {
    const found = await current(req);
    if (!found) throw unauthorized('no dashboard session (signed out or expired)');
    assertOwnOrigin(req, publicUrl);
    assertCsrf(req, found.token);
    await sessions.revoke(found.session.id);
    clearSessionCookie(res, secure);
    res.status(204).end();
  });
  return router;
}
