import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, keys } from '@tally/redis';
import { parseConfig, sharedEnv } from '@tally/runtime';
import { RedisImportLedger } from './import-ledger.ts';

/** The imports' Redis state behind ImportLedger, against the real Redis. */
const config = parseConfig(sharedEnv);
const redis = createRedis(config.REDIS_URL);
const ledger = new RedisImportLedger(redis);
beforeAll(async () => {
  if (redis.status !== 'ready') await once(redis, 'ready');
});
afterAll(() => redis.disconnect());

describe('RedisImportLedger', () => {
  it("a chunk's marker: unset, then set for a week, per chunk", async () => {
    const importId = randomUUID();
    expect(await ledger.attempted(importId, 0)).toBe(false);
    await ledger.markAttempt(importId, 0);
    expect(await ledger.attempted(importId, 0)).toBe(true);
    expect(await ledger.attempted(importId, 1)).toBe(false);
    const key = keys.custom('import', importId, 'chunk', '0', 'inserting');
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(7 * 24 * 3600 - 60);
    expect(ttl).toBeLessThanOrEqual(7 * 24 * 3600);
    await redis.del(key);
  });

  it("drops the named customers' state and only theirs", async () => {
    const tenant = `t-${randomUUID().slice(0, 8)}`;
    const customers = Array.from({ length: 501 }, (_, i) => `c${i}`); // more than one batch of 500
    for (const c of [...customers, 'kept']) await redis.set(keys.hydrated(tenant, c), '1');
    await ledger.dropCustomerState(tenant, customers);
    for (const c of customers) expect(await redis.exists(keys.hydrated(tenant, c))).toBe(0);
    expect(await redis.exists(keys.hydrated(tenant, 'kept'))).toBe(1);
    await redis.del(keys.hydrated(tenant, 'kept'));
  });
});
