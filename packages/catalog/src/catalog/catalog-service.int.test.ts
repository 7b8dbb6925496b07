import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from '@tally/postgres';
import { parseConfig, sharedEnv } from '@tally/runtime';
import type { SyncInput } from '@tally/core';
import { TenantService } from '../tenancy/tenants.ts';
import { CatalogService } from './catalog-service.ts';
import { CatalogRepo } from './catalog-repo.ts';

const config = parseConfig(sharedEnv);
const pool = createPool(config.DATABASE_URL, 4);
const tenants = new TenantService(pool);
afterAll(() => pool.end());

const newTenant = async () => (await tenants.createTenant(`catalog-int-${Date.now()}`)).tenantId;

/** The seed's catalog (owostack-addon-packs.txt) as the SDK sends it. */
const seed = (): SyncInput => ({
  features: [
    { slug: 'ai-tokens', type: 'metered', name: 'AI Tokens' },
    { slug: 'gpt-4', type: 'metered' },
    { slug: 'dall-e', type: 'metered' },
  ],
  creditSystems: [
    { slug: 'ai-credits', name: 'AI Credits', features: [{ feature: 'ai-tokens', creditCost: 1 }, { feature: 'gpt-4', creditCost: 20 }, { feature: 'dall-e', creditCost: 50 }] },
  ],
  creditPacks: [{ slug: '500-ai-credits', name: '500 AI Credits', credits: 500, price: 1000, currency: 'USD', creditSystem: 'ai-credits', provider: 'sandbox' }],
  plans: [
    {
      slug: 'pro', name: 'Pro', price: 2000, currency: 'USD', interval: 'monthly',
      features: [
        { slug: 'ai-tokens', enabled: true, limit: 5000, creditCost: 1 },
        { slug: 'ai-credits', enabled: true, limit: 5000, reset: 'monthly', overage: 'block' },
      ],
    },
  ],
});

const count = async (table: string, tenantId: string) =>
  (await pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = $1`, [tenantId])).rows[0].n as number;

describe('CatalogService.sync against Postgres', () => {
  it('creates the seed catalog, then a second identical sync reports everything unchanged and keeps the version', async () => {
    const tenantId = await newTenant();
    const catalog = new CatalogService(new CatalogRepo(pool));
    const first = await catalog.sync(tenantId, seed());
    expect(first.features).toEqual({ created: ['ai-tokens', 'gpt-4', 'dall-e'], updated: [], unchanged: [], removed: [] });
    expect(first.creditSystems.created).toEqual(['ai-credits']);
    expect(first.creditPacks.created).toEqual(['500-ai-credits']);
    expect(first.plans.created).toEqual(['pro']);
    expect(first.version).toBe(1n);

    const second = await catalog.sync(tenantId, seed());
    expect(second.changed).toBe(false);
    expect(second.version).toBe(1n);
    for (const section of [second.features, second.creditSystems, second.creditPacks, second.plans]) {
      expect(section.created).toEqual([]);
      expect(section.updated).toEqual([]);
      expect(section.removed).toEqual([]);
    }
    expect(second.features.unchanged.sort()).toEqual(['ai-tokens', 'dall-e', 'gpt-4']);
    expect(second.warnings).toEqual([]);

    const snap = await catalog.snapshot(tenantId);
    expect(snap.version).toBe(1n);
    expect(snap.creditSystems.get('ai-credits')?.members.get('gpt-4')).toBe(20_000_000n);
    expect(snap.features.get('dall-e')?.creditSystem).toEqual({ slug: 'ai-credits', costMicro: 50_000_000n });
    const pro = snap.plans.get('pro')!;
    expect(pro.priceMinor).toBe(2000n);
    expect(pro.entitlements.get('ai-credits')).toMatchObject({ kind: 'credit_system', limitMicro: 5_000_000_000n, reset: 'monthly', overage: 'block' });
    expect(pro.entitlements.get('ai-tokens')).toMatchObject({ kind: 'feature', limitMicro: 5_000_000_000n, creditCostMicro: 1_000_000n });
    expect(snap.creditPacks.get('500-ai-credits')).toMatchObject({ creditsMicro: 500_000_000n, priceMinor: 1000n, creditSystem: 'ai-credits', archived: false });
  });

  it('reports updates per slug and moves a member between systems', async () => {
    const tenantId = await newTenant();
    const catalog = new CatalogService(new CatalogRepo(pool));
    await catalog.sync(tenantId, seed());
    const next = seed();
    next.creditSystems[0]!.features = next.creditSystems[0]!.features.filter((f) => f.feature !== 'dall-e');
    next.creditSystems.push({ slug: 'image-credits', name: 'Image credits', features: [{ feature: 'dall-e', creditCost: 0.5 }] });
    next.plans[0]!.price = 2500;
    const res = await catalog.sync(tenantId, next);
    expect(res.creditSystems).toMatchObject({ created: ['image-credits'], updated: ['ai-credits'], unchanged: [] });
    expect(res.plans.updated).toEqual(['pro']);
    expect(res.features.unchanged).toHaveLength(3);
    expect(res.version).toBe(2n);
    const snap = await catalog.snapshot(tenantId);
    expect(snap.features.get('dall-e')?.creditSystem).toEqual({ slug: 'image-credits', costMicro: 500_000n });
    expect(snap.plans.get('pro')?.priceMinor).toBe(2500n);
  });

  it('an unknown reference is a 400 naming the slug, and nothing of the sync is written', async () => {
    const tenantId = await newTenant();
    const catalog = new CatalogService(new CatalogRepo(pool));
    const bad = seed();
    bad.plans[0]!.features.push({ slug: 'no-such-feature', enabled: true });
    await expect(catalog.sync(tenantId, bad)).rejects.toMatchObject({ status: 400, code: 'catalog_reference_error', details: { slug: 'no-such-feature' } });
    const badPack = seed();
    badPack.creditPacks[0]!.creditSystem = 'nope';
    await expect(catalog.sync(tenantId, badPack)).rejects.toMatchObject({ status: 400, details: { slug: '500-ai-credits' } });
    for (const table of ['features', 'credit_systems', 'plans', 'credit_packs']) expect(await count(table, tenantId)).toBe(0);
    expect((await catalog.snapshot(tenantId)).version).toBe(0n);
  });

  it('a failure half-way (a database constraint) rolls the whole sync back', async () => {
    const tenantId = await newTenant();
    const catalog = new CatalogService(new CatalogRepo(pool));
    const body = seed();
    // Passes validation in code but violates CHECK (price_minor >= 0) in the last table written.
    body.plans[0]!.price = -1;
    await expect(catalog.sync(tenantId, body)).rejects.toThrow();
    for (const table of ['features', 'credit_systems', 'credit_system_features', 'credit_packs', 'plans']) expect(await count(table, tenantId)).toBe(0);
  });

  it('dry run reports the changes without writing them', async () => {
    const tenantId = await newTenant();
    const catalog = new CatalogService(new CatalogRepo(pool));
    const dry = await catalog.sync(tenantId, seed(), { dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(dry.plans.created).toEqual(['pro']);
    expect(await count('features', tenantId)).toBe(0);
  });

  it('archives packs and deletes unsubscribed plans left out of the config; keeps features with a warning', async () => {
    const tenantId = await newTenant();
    const catalog = new CatalogService(new CatalogRepo(pool));
    await catalog.sync(tenantId, seed());
    const res = await catalog.sync(tenantId, { features: [], creditSystems: [], creditPacks: [], plans: [] });
    expect(res.creditPacks.removed).toEqual(['500-ai-credits']);
    expect(res.plans.removed).toEqual(['pro']);
    expect(res.warnings.some((w) => w.includes('feature "gpt-4"'))).toBe(true);
    const snap = await catalog.snapshot(tenantId);
    expect(snap.creditPacks.get('500-ai-credits')?.archived).toBe(true);
    expect(snap.plans.has('pro')).toBe(false);
    const again = await catalog.sync(tenantId, seed());
    expect(again.creditPacks.updated).toEqual(['500-ai-credits']);
    expect((await catalog.snapshot(tenantId)).creditPacks.get('500-ai-credits')?.archived).toBe(false);
  });

  it('refuses to remove or re-point a pack that has purchases, with a warning', async () => {
    const tenantId = await newTenant();
    const catalog = new CatalogService(new CatalogRepo(pool));
    await catalog.sync(tenantId, seed());
    const hasPurchases = (await pool.query("SELECT to_regclass('purchases') IS NOT NULL AS ok")).rows[0].ok;
    expect(hasPurchases).toBe(true); // billing's migration 0004 is applied on this stack
    const pack = (await catalog.snapshot(tenantId)).creditPacks.get('500-ai-credits')!;
    await pool.query('INSERT INTO customers (tenant_id, id) VALUES ($1, $2)', [tenantId, 'buyer']);
    await pool.query(
      `INSERT INTO purchases (id, tenant_id, customer_id, pack_id, pack_slug, credit_system, quantity, credits_micro, amount_minor, currency, provider, status)
       VALUES (gen_random_uuid(), $1, 'buyer', $2, '500-ai-credits', 'ai-credits', 1, 500000000, 1000, 'USD', 'sandbox', 'completed')`,
      [tenantId, pack.id],
    );
    const changed = seed();
    changed.creditPacks[0]!.credits = 600;
    const res = await catalog.sync(tenantId, changed);
    expect(res.creditPacks.unchanged).toEqual(['500-ai-credits']);
    expect(res.warnings.join('\n')).toContain('credit pack "500-ai-credits" has purchases');
    const removed = await catalog.sync(tenantId, { ...seed(), creditPacks: [] });
    expect(removed.creditPacks.removed).toEqual([]);
    expect(removed.warnings.join('\n')).toContain('"500-ai-credits" is not in the config but has purchases');
    expect((await catalog.snapshot(tenantId)).creditPacks.get('500-ai-credits')).toMatchObject({ archived: false, creditsMicro: 500_000_000n });
  });
});

describe('CatalogCache', () => {
  it('sees a sync made by another process once the check interval has passed', async () => {
    const tenantId = await newTenant();
    let now = 1_000;
    const reader = new CatalogService(new CatalogRepo(pool), { checkEveryMs: 1000, now: () => now });
    const writer = new CatalogService(new CatalogRepo(pool));
    expect((await reader.snapshot(tenantId)).plans.size).toBe(0);
    await writer.sync(tenantId, seed());
    now += 500;
    expect((await reader.snapshot(tenantId)).plans.size).toBe(0); // still trusted
    now += 600;
    // past the interval: the held snapshot is answered at once while the version is checked in the background
    expect((await reader.snapshot(tenantId)).plans.size).toBe(0);
    let size = 0;
    for (let i = 0; i < 100 && size === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      size = (await reader.snapshot(tenantId)).plans.size;
    }
    expect(size).toBe(1);
  });

  it('waits for the check when the held snapshot is older than maxStaleMs', async () => {
    const tenantId = await newTenant();
    let now = 1_000;
    const reader = new CatalogService(new CatalogRepo(pool), { checkEveryMs: 1000, maxStaleMs: 10_000, now: () => now });
    const writer = new CatalogService(new CatalogRepo(pool));
    expect((await reader.snapshot(tenantId)).plans.size).toBe(0);
    await writer.sync(tenantId, seed());
    now += 10_000;
    expect((await reader.snapshot(tenantId)).plans.size).toBe(1);
  });

  it('returns the same snapshot object while the version is unchanged', async () => {
    const tenantId = await newTenant();
    let now = 0;
    const catalog = new CatalogService(new CatalogRepo(pool), { now: () => now });
    await catalog.sync(tenantId, seed());
    const a = await catalog.snapshot(tenantId);
    now += 5_000;
    expect(await catalog.snapshot(tenantId)).toBe(a);
  });
});
