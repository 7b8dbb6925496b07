import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { keys, scripts, type RedisClient } from '@tally/redis';
import type { Pool } from '@tally/postgres';
import { AppError, dependencies, type Logger } from '@tally/runtime';
import { RateLimitOverrides, type Rates, type RouteClass } from './rate-limit-overrides.ts';
import type { Tenant } from './tenant.ts';

/** A limiter answer slower than this lets the request through (the limiter never makes an answer wait on a hung Redis). */
export const LIMITER_WAIT_MS = 100;

export interface Decision {
  allowed: boolean;
  /** Units still available at once after this request. */
  remaining: number;
  /** Seconds until this request could pass (0 when allowed). */
  retryAfterSeconds: number;
  /** Seconds until the whole capacity is back. */
  resetSeconds: number;
  /** Burst capacity (units) and the window it is expressed over (seconds). */
  quota: number;
  windowSeconds: number;
}

/**
 * GCRA per tenant and route class in Redis (packages/redis/lua/rate-limit.1.lua):
 * a tenant may spend `rate × burstSeconds` units at once, then `rate` per
 * second. One EVALSHA per request, against Redis's clock, so the limit holds
 * across every API process.
 */
export class TenantRateLimiter {
  constructor(private readonly redis: RedisClient, private readonly burstSeconds: number) {}

  async take(tenantId: string, routeClass: RouteClass, rate: number, cost: number): Promise<Decision> {
    const intervalUs = Math.max(1, Math.floor(1_000_000 / rate));
    const quota = rate * this.burstSeconds;
    const [allowed, remaining, waitUs, resetUs] = await scripts.rateLimit.run<number[]>(
      this.redis,
      [keys.custom('ratelimit', 'tenant', tenantId, routeClass)],
      [intervalUs, quota, cost],
    );
    return {
      allowed: allowed === 1,
      remaining: Math.max(0, Number(remaining)),
      retryAfterSeconds: allowed === 1 ? 0 : Math.max(1, Math.ceil(Number(waitUs) / 1_000_000)),
      resetSeconds: Math.ceil(Number(resetUs) / 1_000_000),
      quota,
      windowSeconds: this.burstSeconds,
    };
  }
}

/** The route class of a request on the /v1 router (path relative to it). */
export function routeClassOf(method: string, path: string): RouteClass {
  if (method !== 'POST') return 'other';
  if (path === '/track' || path === '/track/batch') return 'ingest';
  if (path === '/check') return 'check';
  return 'other';
}

/** What a request costs: a batch its events ({ events } or NDJSON lines), anything else 1. */
export function costOf(routeClass: RouteClass, body: unknown): number {
  if (routeClass !== 'ingest') return 1;
  if (typeof body === 'string') return Math.max(1, body.split('\n').filter((l) => l.trim() !== '').length);
  const events = (body as { events?: unknown } | null)?.events;
  return Array.isArray(events) ? Math.max(1, events.length) : 1;
}

/**
 * The IETF draft's fields (draft-ietf-httpapi-ratelimit-headers-08..11): the
 * policy as quota q per window w seconds, the state as remaining r and reset t.
 */
export function rateLimitHeaders(routeClass: RouteClass, d: Decision): Record<string, string> {
  return {
    'RateLimit-Policy': `"${routeClass}";q=${d.quota};w=${d.windowSeconds}`,
    RateLimit: `"${routeClass}";r=${d.remaining};t=${d.resetSeconds}`,
  };
}

export interface TenantRateLimits {
  middleware: RequestHandler;
  overrides: RateLimitOverrides;
  /** The rates a tenant is limited by now (its overrides over the defaults). */
  ratesOf(tenantId: string): Promise<Rates>;
  defaults: Rates;
  /** A burst of this many seconds of a rate passes at once. */
  burstSeconds: number;
  /** Closes the override channel's subscriber. */
  close(): void;
}

export interface TenantRateLimitsDeps {
  pool: Pool;
  redis: RedisClient;
  logger: Logger;
  config: {
    REDIS_URL: string;
    RATE_LIMIT_INGEST_EVENTS_PER_SECOND: number;
    RATE_LIMIT_CHECK_PER_SECOND: number;
    RATE_LIMIT_OTHER_PER_SECOND: number;
    RATE_LIMIT_BURST_SECONDS: number;
  };
}

/** Built once by the API's composition root: the admin routes and the /v1 middleware share it. */
export function createTenantRateLimits(deps: TenantRateLimitsDeps): TenantRateLimits {
  const { config } = deps;
  const defaults: Rates = {
    ingest: config.RATE_LIMIT_INGEST_EVENTS_PER_SECOND,
    check: config.RATE_LIMIT_CHECK_PER_SECOND,
    other: config.RATE_LIMIT_OTHER_PER_SECOND,
  };
  const overrides = new RateLimitOverrides(deps.pool, deps.redis, config.REDIS_URL);
  const limiter = new TenantRateLimiter(deps.redis, config.RATE_LIMIT_BURST_SECONDS);
  const ratesOf = async (tenantId: string): Promise<Rates> => {
    const own = await overrides.get(tenantId);
    return { ingest: own.ingest ?? defaults.ingest, check: own.check ?? defaults.check, other: own.other ?? defaults.other };
  };
  return {
    defaults,
    overrides,
    ratesOf,
    burstSeconds: config.RATE_LIMIT_BURST_SECONDS,
    middleware: limitTenants(limiter, ratesOf, defaults, config.RATE_LIMIT_BURST_SECONDS, deps.logger),
    close: () => overrides.close(),
  };
}

/**
 * Runs after authentication and body parsing (a batch is counted by its
 * events), before any handler: a refused request did nothing. Redis or
 * Postgres unavailable or slow (LIMITER_WAIT_MS) lets the request through
 * unlimited for the moment: the limiter protects the service, it must not
 * become the reason it is down.
 */
function limitTenants(
  limiter: TenantRateLimiter,
  ratesOf: (tenantId: string) => Promise<Rates>,
  defaults: Rates,
  burstSeconds: number,
  logger: Logger,
): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const tenant = res.locals.tenant as Tenant | undefined;
    if (!tenant) return next();
    const routeClass = routeClassOf(req.method, req.path);
    const cost = costOf(routeClass, req.body);
    // Redis known down (docs/operations.md "Budgets"): not waited on, let through
    if (dependencies.isDown('redis')) return next();
    let decision: Decision | null;
    let rate = defaults[routeClass];
    try {
      decision = await withinWait(async () => {
        rate = (await ratesOf(tenant.tenantId))[routeClass];
        if (rate === 0) return null;
        if (cost > rate * burstSeconds) return 'too-big' as const;
        return limiter.take(tenant.tenantId, routeClass, rate, cost);
      }).then((d) => {
        if (d === 'too-big') {
          throw new AppError('batch_over_rate_limit', `this batch has ${cost} events; at most ${rate * burstSeconds} pass at once for this tenant: split it`, { status: 413 });
        }
        return d;
      });
    } catch (err) {
      if (err instanceof AppError && err.code === 'batch_over_rate_limit') return next(err);
      logger.warn({ err }, 'tenant rate limit unavailable; request let through');
      return next();
    }
    if (!decision) return next();
    for (const [name, value] of Object.entries(rateLimitHeaders(routeClass, decision))) res.setHeader(name, value);
    if (decision.allowed) return next();
    next(
      new AppError('rate_limited', `over this tenant's ${routeClass} limit of ${rate}/s; retry in ${decision.retryAfterSeconds} s`, {
        status: 429,
        retryable: true,
        retryAfterSeconds: decision.retryAfterSeconds,
        details: { routeClass, limitPerSecond: rate },
      }),
    );
  };
}

async function withinWait<T>(work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${LIMITER_WAIT_MS} ms`)), LIMITER_WAIT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
