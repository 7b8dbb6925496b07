import type { RequestHandler } from 'express';
import type { TenantService } from '@tally/catalog';

const unauthorized = (message: string) => ({ success: false, error: { code: 'Unauthorized', message } });

/** `Authorization: Bearer sk_…` → res.locals.tenant, or 401. */
export function requireApiKey(tenants: TenantService): RequestHandler {
  return async (req, res, next) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) {
      res.status(401).json(unauthorized('missing bearer API key'));
      return;
    }
    const identity = await tenants.authenticate(match[1]);
    if (!identity) {
      res.status(401).json(unauthorized('unknown or revoked API key'));
      return;
    }
    res.locals.tenant = identity;
    next();
  };
}
