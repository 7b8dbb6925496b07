/**
 * The catalog reads the dashboard edits from, through a dashboard session: GET /v1/features lists
 * every feature (with its credit system), and GET /v1/catalog answers the whole catalog as a
 * POST /v1/sync body — metadata, billing type, rollover, validity and refund policy included — so
 * syncing it back changes nothing. Tenant-scoped; refused without a session or key.
 */
import { describe, expect, it } from 'vitest';
import { client, newTenant } from './support/stack.ts';
import { signIn, withCookie } from './dashboard-session.support.ts';

const body = {
  defaultProvider: 'sandbox',
  features: [
    { slug: 'gpt-4', type: 'metered', name: 'GPT-4' },
    { slug: 'dall-e', type: 'metered', name: 'DALL-E' },
    { slug: 'seats', type: 'metered', name: 'Seats', meterType: 'non_consumable' },
    { slug: 'sso', type: 'boolean', name: 'SSO' },
  ],
  creditSystems: [{ slug: 'ai-credits', name: 'AI Credits', description: 'one balance', features: [{ feature: 'gpt-4', creditCost: 20 }, { feature: 'dall-e', creditCost: 50 }] }],
  creditPacks: [
    { slug: '500-ai-credits', name: '500 AI Credits', credits: 500, price: 1000, currency: 'USD', creditSystem: 'ai-credits', provider: 'sandbox', metadata: { shelf: 'top' }, refundPolicy: 'full', expiresAfterDays: 30 },
    { slug: 'small', name: 'Small', credits: 50, price: 150, currency: 'USD', creditSystem: 'ai-credits' },
  ],
  plans: [
    {
      slug: 'pro', name: 'Pro', description: 'for teams', price: 2000, currency: 'USD', interval: 'monthly', billingType: 'licensed', planGroup: 'main', trialDays: 14,
      metadata: { tier: 2 }, autoEnable: false,
      features: [
        { slug: 'ai-credits', enabled: true, limit: 5000, reset: 'monthly', overage: 'charge', rollover: { max: 1000, periods: 2 } },
        { slug: 'gpt-4', enabled: true, creditCost: 15 },
        { slug: 'seats', enabled: true, limit: 10, reset: 'never', overage: 'block' },
        { slug: 'sso', enabled: true },
      ],
    },
    { slug: 'free', name: 'Free', price: 0, currency: 'USD', interval: 'monthly', autoEnable: true, features: [{ slug: 'ai-credits', enabled: true, limit: 100, reset: 'monthly' }] },
  ],
};

describe('catalog reads for the dashboard', () => {
  it('GET /v1/features and GET /v1/catalog through a session; the catalog syncs back unchanged', { timeout: 60_000 }, async () => {
    const tenant = await newTenant('dash-catalog');
    const api = client(tenant.apiKey.secret);
    const synced = await api.post('/v1/sync', body);
    expect(synced.status, JSON.stringify(synced.body)).toBe(200);
    const s = await signIn(tenant.apiKey.secret);

    const features = await withCookie(s.cookie, 'GET', '/v1/features');
    expect(features.status, JSON.stringify(features.body)).toBe(200);
    const bySlug = Object.fromEntries(features.body.features.map((f: { slug: string }) => [f.slug, f]));
    expect(Object.keys(bySlug).sort()).toEqual(['dall-e', 'gpt-4', 'seats', 'sso']);
    expect(bySlug['gpt-4']).toMatchObject({ name: 'GPT-4', type: 'metered', meterType: 'consumable', creditSystem: { slug: 'ai-credits', creditCost: 20 } });
    expect(bySlug['dall-e'].creditSystem).toEqual({ slug: 'ai-credits', creditCost: 50 });
    expect(bySlug.seats).toMatchObject({ meterType: 'non_consumable', creditSystem: null });
    expect(bySlug.sso).toMatchObject({ type: 'boolean', name: 'SSO', creditSystem: null });

    const read = await withCookie(s.cookie, 'GET', '/v1/catalog');
    expect(read.status, JSON.stringify(read.body)).toBe(200);
    expect(read.body.version).toBe(synced.body.version);
    const catalog = read.body.catalog;
    const pro = catalog.plans.find((p: { slug: string }) => p.slug === 'pro');
    expect(pro).toMatchObject({ billingType: 'licensed', planGroup: 'main', trialDays: 14, metadata: { tier: 2 }, description: 'for teams' });
    expect(pro.features.find((f: { slug: string }) => f.slug === 'ai-credits')).toMatchObject({ limit: 5000, overage: 'charge', rollover: { max: 1000, periods: 2 } });
    expect(pro.features.find((f: { slug: string }) => f.slug === 'gpt-4')).toMatchObject({ creditCost: 15 });
    const pack = catalog.creditPacks.find((p: { slug: string }) => p.slug === '500-ai-credits');
    expect(pack).toMatchObject({ credits: 500, price: 1000, metadata: { shelf: 'top' }, refundPolicy: 'full', expiresAfterDays: 30, provider: 'sandbox' });

    // the answer is a sync body: sent back (with the session's CSRF token) it changes nothing
    const back = await withCookie(s.cookie, 'POST', '/v1/sync', { ...catalog, dryRun: true }, { 'X-CSRF-Token': s.csrfToken });
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    for (const section of ['features', 'creditSystems', 'creditPacks', 'plans'] as const) {
      expect(back.body[section], section).toMatchObject({ created: [], updated: [], removed: [] });
      expect(back.body[section].unchanged.length, section).toBe(body[section].length);
    }
    // an edit on top of it changes exactly that (as the dashboard's edits do)
    const edited = { ...catalog, creditPacks: catalog.creditPacks.map((p: { slug: string; price: number }) => (p.slug === 'small' ? { ...p, price: 175 } : p)) };
    const edit = await withCookie(s.cookie, 'POST', '/v1/sync', edited, { 'X-CSRF-Token': s.csrfToken });
    expect(edit.status, JSON.stringify(edit.body)).toBe(200);
    expect(edit.body.creditPacks).toMatchObject({ updated: ['small'], created: [], removed: [] });
    expect(edit.body.plans.updated).toEqual([]);
    expect(edit.body.version).toBeGreaterThan(synced.body.version);
    const after = await withCookie(s.cookie, 'GET', '/v1/catalog');
    expect(after.body.catalog.plans.find((p: { slug: string }) => p.slug === 'pro').metadata).toEqual({ tier: 2 });
    expect(after.body.catalog.creditPacks.find((p: { slug: string }) => p.slug === '500-ai-credits').metadata).toEqual({ shelf: 'top' });
  });

  it("shows another tenant nothing and needs a session or key", { timeout: 60_000 }, async () => {
    const a = await newTenant('dash-catalog-a');
    expect((await client(a.apiKey.secret).post('/v1/sync', body)).status).toBe(200);
    const b = await newTenant('dash-catalog-b');
    const sb = await signIn(b.apiKey.secret);
    const features = await withCookie(sb.cookie, 'GET', '/v1/features');
    expect(features.status).toBe(200);
    expect(features.body.features).toEqual([]);
    const catalog = await withCookie(sb.cookie, 'GET', '/v1/catalog');
    expect(catalog.body.catalog).toMatchObject({ features: [], creditSystems: [], creditPacks: [], plans: [] });
    for (const path of ['/v1/features', '/v1/catalog']) expect((await client(null).get(path)).status, path).toBe(401);
  });
});
