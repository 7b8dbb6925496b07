import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Readiness } from './health.ts';

/**
 * Operator endpoints: /metrics and the details of /readyz show business
 * counters and the dependencies' errors, so they are served only with
 * `Authorization: Bearer <METRICS_TOKEN>`. Without the variable /metrics is
 * off; /readyz and /healthz stay public (load balancers and the tests poll
 * them), /readyz answering its status with `{ ok }` only.
 */
export const opsEnv = z.object({
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
});

export type OpsAccess = 'granted' | 'off' | 'denied';

// Digests of equal length, so the comparison time says nothing about the token.
const digest = (text: string) => createHash('sha256').update(text).digest();

/** Whether a request's Authorization header opens the operator endpoints. */
export function opsAccess(authorization: string | undefined, token: string | undefined): OpsAccess {
  if (!token) return 'off';
  const presented = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  return presented !== undefined && timingSafeEqual(digest(presented), digest(token)) ? 'granted' : 'denied';
}

/** /readyz as the caller may see it: the checks for an operator, the verdict alone for anyone. */
export const readinessView = (readiness: Readiness, access: OpsAccess): Readiness | { ok: boolean } =>
  access === 'granted' ? readiness : { ok: readiness.ok };

/** The refusal of /metrics: 404 while it is off, 401 without the right token. */
export const metricsRefusal = (access: Exclude<OpsAccess, 'granted'>) =>
  access === 'off'
    ? { status: 404, body: { success: false, error: { code: 'metrics_off', message: 'set METRICS_TOKEN to serve /metrics' } } }
    : { status: 401, body: { success: false, error: { code: 'unauthorized', message: 'missing or wrong metrics token' } } };
