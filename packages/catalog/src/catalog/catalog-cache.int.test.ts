import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from '@tally/postgres';
import { parseConfig, sharedEnv } from '@tally/runtime';
import { TenantService } from '../tenancy/tenants.ts';
import { CatalogService } from './catalog-service.ts';
import { CatalogRepo } from './catalog-repo.ts';

const config = parseConfig(sharedEnv);
const pool = createPool(config.DATABASE_URL, 4);
const tenants = new TenantService(pool);
afterAll(() => pool.end());

describe('CatalogCache memory bound', () => {
  it('holds at most maxTenants snapshots however many tenants pass through; a dropped one loads again, right', async () => {
    const ids = await Promise.all(Array.from({ length: 5 }, async (_, i) => (await tenants.createTenant(`catalog-cap-${i}-${Date.now()}`)).tenantId));
    const catalog = new CatalogService(new CatalogRepo(pool), { maxTenants: 2 });
    // each tenant its own catalog, so a snapshot answered for the wrong tenant would show
    for (const [i, tenantId] of ids.entries()) {
      await catalog.sync(tenantId, { features: [{ slug: `f-${i}`, type: 'metered' }], creditSystems: [], creditPacks: [], plans: [] });
    }
    let largest = 0;
    for (const tenantId of [...ids, ...ids]) {
      await catalog.snapshot(tenantId);
      largest = Math.max(largest, catalog.cache.size);
    }
    expect(largest).toBe(2);
    // the first tenant was dropped long ago: loaded again from Postgres, its own features
    const first = await catalog.snapshot(ids[0]!);
    expect([...first.features.keys()]).toEqual(['f-0']);
    expect(catalog.cache.size).toBe(2);
  });
});
