import type { Request } from 'express';
import { AppError } from '@tally/runtime';
import { csrfMatches } from './sessions.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The API's own origins: PUBLIC_URL's, and the one the request itself was sent to (scheme of this
 * socket + Host). A browser always sets Host to the site it calls, so a page elsewhere cannot make
 * its Origin match.
 */
function ownOrigins(req: Request, publicUrl: string): string[] {
  const origins = [new URL(publicUrl).origin];
  if (req.headers.host) origins.push(`${req.protocol}://${req.headers.host}`);
  return origins;
}

/** An Origin header, when present, must be the API's own (403 origin_not_allowed). */
export function assertOwnOrigin(req: Request, publicUrl: string): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  if (!ownOrigins(req, publicUrl).includes(origin)) {
    throw new AppError('origin_not_allowed', 'a request with the dashboard session must come from the API\'s own origin', { status: 403 });
  }
}

/** Cookie-authenticated writes carry X-CSRF-Token, the token the session answer handed out (403 csrf_token_invalid). */
export function assertCsrf(req: Request, sessionToken: string): void {
  if (SAFE_METHODS.has(req.method)) return;
  const presented = req.headers['x-csrf-token'];
  if (!csrfMatches(sessionToken, typeof presented === 'string' ? presented : undefined)) {
    throw new AppError('csrf_token_invalid', 'a write with the dashboard session needs the X-CSRF-Token header from /dashboard/api/session', { status: 403 });
  }
}
