import { afterAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '@tally/postgres';
import { parseConfig, sharedEnv } from '@tally/runtime';
import type { ChangeBus, StateChange } from '../changes.ts';
import { generateSecretKey } from './api-keys.ts';
import { TenantService } from './tenants.ts';

const config = parseConfig(sharedEnv);
const pool = createPool(config.DATABASE_URL, 4);
afterAll(() => pool.end());

/** The real pool, counting the queries that reach it. */
function countingPool(): { pool: Pool; queries: () => number } {
  let n = 0;
  const counted = new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop === 'query') return (...args: Parameters<Pool['query']>) => (n++, (target.query as (...a: unknown[]) => unknown)(...args));
      return Reflect.get(target, prop, receiver);
    },
  });
  return { pool: counted, queries: () => n };
}

/** Two processes' services on one in-memory channel (the Redis bus is tested in @tally/redis). */
function sharedBus(): ChangeBus {
  const handlers: ((c: StateChange) => void)[] = [];
  return { publish: async (c) => handlers.forEach((h) => h(c)), subscribe: (h) => void handlers.push(h) };
}

describe('TenantService: the key cache against Postgres', () => {
  it('bounds the unknown keys it holds, and a flood of them neither evicts a real key nor costs it a query', async () => {
    const counting = countingPool();
    const tenants = new TenantService(counting.pool, { cache: { maxUnknown: 50 } });
    const { apiKey } = await tenants.createTenant(`keys-int-${Date.now()}`);
    expect(await tenants.authenticate(apiKey.secret)).toMatchObject({ apiKeyId: apiKey.id });
    const junk = Array.from({ length: 500 }, () => generateSecretKey('test'));
    for (const secret of junk) expect(await tenants.authenticate(secret)).toBeNull();
    expect(tenants.cacheSize.unknown).toBe(50);
    const before = counting.queries();
    expect(await tenants.authenticate(apiKey.secret)).toMatchObject({ apiKeyId: apiKey.id });
    expect(await tenants.authenticate(junk[499]!)).toBeNull();
    expect(counting.queries()).toBe(before);
    expect(await tenants.authenticate(junk[0]!)).toBeNull(); // forgotten: looked up again
    expect(counting.queries()).toBe(before + 1);
  });

  it('looks a key up once however many requests present it at the same time', async () => {
    const counting = countingPool();
    const tenants = new TenantService(counting.pool);
    const secret = generateSecretKey('live');
    const answers = await Promise.all(Array.from({ length: 20 }, () => tenants.authenticate(secret)));
    expect(answers.every((a) => a === null)).toBe(true);
    expect(counting.queries()).toBe(1);
  });

  it('a key revoked through one service is refused by another that had it cached', async () => {
    const bus = sharedBus();
    const a = new TenantService(pool, { changes: bus });
    const b = new TenantService(pool, { changes: bus });
    const { tenantId, apiKey } = await a.createTenant(`keys-int-revoke-${Date.now()}`);
    const extra = await a.createKey(tenantId, 'extra');
    expect(await b.authenticate(extra.secret)).toMatchObject({ tenantId });
    expect(b.cachedIdentity(extra.secret)).toMatchObject({ apiKeyId: extra.id });
    const revoked = await a.revokeKey(tenantId, extra.id, { callerKeyId: apiKey.id });
    expect(revoked.revokedAt).not.toBeNull();
    expect(b.cachedIdentity(extra.secret)).toBeNull();
    expect(await b.authenticate(extra.secret)).toBeNull();
    expect(await b.authenticate(apiKey.secret)).toMatchObject({ apiKeyId: apiKey.id });
    await expect(a.revokeKey(tenantId, apiKey.id, { callerKeyId: apiKey.id })).rejects.toMatchObject({ code: 'cannot_revoke_current_key', status: 409 });
    const stranger = await a.createTenant(`keys-int-stranger-${Date.now()}`);
    await expect(a.revokeKey(stranger.tenantId, apiKey.id)).rejects.toMatchObject({ code: 'api_key_not_found', status: 404 });
    expect(await b.authenticate(apiKey.secret)).toMatchObject({ apiKeyId: apiKey.id });
  });
});
