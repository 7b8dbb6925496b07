import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '@tally/redis';
import { parseConfig, sharedEnv } from '@tally/runtime';
import { costOf, rateLimitHeaders, routeClassOf, TenantRateLimiter } from './rate-limit-tenant.ts';

const redis = createRedis(parseConfig(sharedEnv).REDIS_URL);
redis.on('error', () => {});
beforeAll(async () => {
  if (redis.status !== 'ready') await once(redis, 'ready');
});
afterAll(() => redis.disconnect());

describe('TenantRateLimiter (GCRA in Redis)', () => {
  it('lets the capacity (rate × burst seconds) through at once, then refuses, counting nothing refused', async () => {
    // 1 per second, burst 5 s: 5 at once; refill takes a second, far longer than these calls
    const limiter = new TenantRateLimiter(redis, 5);
    const tenant = randomUUID();
    const remaining: number[] = [];
    for (let i = 0; i < 5; i++) {
      const d = await limiter.take(tenant, 'check', 1, 1);
      expect(d.allowed).toBe(true);
      remaining.push(d.remaining);
    }
    expect(remaining).toEqual([4, 3, 2, 1, 0]);
    const refused = await limiter.take(tenant, 'check', 1, 1);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, quota: 5, windowSeconds: 5 });
    expect(refused.retryAfterSeconds).toBe(1);
    // another class of the same tenant, and another tenant, have budgets of their own
    expect((await limiter.take(tenant, 'other', 1, 1)).allowed).toBe(true);
    expect((await limiter.take(randomUUID(), 'check', 1, 1)).allowed).toBe(true);
  });

  it('counts a batch by its cost, whole or not at all', async () => {
    const limiter = new TenantRateLimiter(redis, 2);
    const tenant = randomUUID();
    // 100 events/s, burst 2 s: 200 at once
    expect(await limiter.take(tenant, 'ingest', 100, 150)).toMatchObject({ allowed: true, remaining: 50 });
    const refused = await limiter.take(tenant, 'ingest', 100, 60);
    expect(refused.allowed).toBe(false);
    // 10 missing at 100/s: 0.1 s, answered as the whole second Retry-After counts in
    expect(refused.retryAfterSeconds).toBe(1);
    // the refused 60 took nothing: 50 still fit
    expect((await limiter.take(tenant, 'ingest', 100, 50)).allowed).toBe(true);
  });
});

describe('route classes, costs and headers', () => {
  it('classes by method and path, costs a batch by its events', () => {
    expect(routeClassOf('POST', '/track')).toBe('ingest');
    expect(routeClassOf('POST', '/track/batch')).toBe('ingest');
    expect(routeClassOf('POST', '/check')).toBe('check');
    expect(routeClassOf('GET', '/check')).toBe('other');
    expect(routeClassOf('POST', '/sync')).toBe('other');
    expect(costOf('ingest', { events: [{}, {}, {}] })).toBe(3);
    expect(costOf('ingest', '{"a":1}\n\n{"b":2}\n')).toBe(2);
    expect(costOf('ingest', { customer: 'c' })).toBe(1);
    expect(costOf('other', { events: [{}, {}] })).toBe(1);
  });

  it('writes the draft headers', () => {
    const h = rateLimitHeaders('check', { allowed: true, remaining: 7, retryAfterSeconds: 0, resetSeconds: 2, quota: 10, windowSeconds: 5 });
    expect(h).toEqual({ 'RateLimit-Policy': '"check";q=10;w=5', RateLimit: '"check";r=7;t=2' });
  });
});
