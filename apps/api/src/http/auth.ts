import type { Request, RequestHandler, Response } from 'express';
import type { TenantService } from '@tally/catalog';
import type { Logger } from '@tally/runtime';
import { clientAddress, type WindowLimiter } from './rate-limit.ts';

const refusal = (code: string, message: string) => ({ success: false, error: { code, message } });

/**
 * A refusal sent before the body was read closes the connection: Node would
 * otherwise read (and discard) the whole upload to keep the socket alive.
 */
export function refuseBeforeBody(req: Request, res: Response, status: number, body: unknown): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.readableEnded) res.setHeader('Connection', 'close');
  res.status(status).json(body);
}

export interface ApiKeyAuthOptions {
  /** Failed authentications per client address (rate-limit.ts); off when absent. */
  failures?: WindowLimiter;
  logger: Logger;
}

/**
 * `Authorization: Bearer sk_…` → res.locals.tenant, or 401. Runs before any
 * body is read. A key this process holds as valid costs nothing more; any
 * other is looked up only while the client address is under its limit of
 * failed authentications (429 with Retry-After past it), so a flood of
 * made-up keys costs neither Postgres queries nor memory without bound.
 */
export function requireApiKey(tenants: TenantService, options: ApiKeyAuthOptions): RequestHandler {
  const { failures, logger } = options;
  const safely = async (what: () => Promise<number | null>): Promise<number | null> => {
    try {
      return await what();
    } catch (err) {
      // Redis down: authentication still works (Postgres), only unlimited for the moment
      logger.warn({ err }, 'auth failure limit unavailable');
      return null;
    }
  };
  return async (req, res, next) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) {
      refuseBeforeBody(req, res, 401, refusal('unauthorized', 'missing bearer API key'));
      return;
    }
    const secret = match[1];
    let identity = tenants.cachedIdentity(secret);
    if (!identity) {
      const address = clientAddress(req.socket.remoteAddress);
      const wait = failures ? await safely(() => failures.blocked(address)) : null;
      if (wait !== null) {
        res.setHeader('Retry-After', String(wait));
        refuseBeforeBody(req, res, 429, refusal('too_many_failed_authentications', `too many refused API keys from this address; retry in ${wait} s`));
        return;
      }
      identity = await tenants.authenticate(secret);
      if (!identity) {
        if (failures) await safely(() => failures.hit(address));
        refuseBeforeBody(req, res, 401, refusal('unauthorized', 'unknown or revoked API key'));
        return;
      }
    }
    res.locals.tenant = identity;
    next();
  };
}
