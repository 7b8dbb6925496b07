/**
 * A pack on a provider the deployment cannot use for the tenant (Stripe with
 * no keys here) syncs with a warning naming the pack; addon on it is a 400
 * provider_not_configured that creates no purchase. Sandbox packs warn nothing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { db } from './billing.support.ts';
import { client, newTenant } from './support/stack.ts';

const catalog = (provider: string | undefined) => ({
  features: [{ slug: 'gpt-4', type: 'metered', name: 'GPT-4' }],
  creditSystems: [{ slug: 'ai-credits', name: 'AI Credits', features: [{ feature: 'gpt-4', creditCost: 20 }] }],
  creditPacks: [
    { slug: 'sandbox-pack', name: 'Sandbox pack', credits: 100, price: 500, currency: 'USD', creditSystem: 'ai-credits' },
    { slug: 'card-pack', name: 'Card pack', credits: 100, price: 500, currency: 'USD', creditSystem: 'ai-credits', ...(provider ? { provider } : {}) },
  ],
  plans: [],
});

afterAll(async () => {
  await db.end();
});

describe('sync names a pack whose provider is not configured', () => {
  it('warns for the stripe pack only, and addon refuses it with 400', { timeout: 60_000 }, async () => {
    const tenant = await newTenant('provider-warning');
    const api = client(tenant.apiKey.secret);
    const synced = await api.post('/v1/sync', catalog('stripe'));
    expect(synced.status, JSON.stringify(synced.body)).toBe(200);
    expect(synced.body.warnings).toHaveLength(1);
    expect(synced.body.warnings[0]).toContain('credit pack "card-pack" uses provider "stripe"');
    expect(synced.body.warnings.join('\n')).not.toContain('sandbox-pack');

    const customer = `cus_${Date.now()}`;
    expect((await api.post('/v1/customers', { id: customer })).status).toBeLessThan(300);
    const addon = await api.post('/v1/addon', { customer, pack: 'card-pack', quantity: 1 });
    expect(addon.status, JSON.stringify(addon.body)).toBe(400);
    expect(addon.body.error.code).toBe('provider_not_configured');
    const { rows } = await db.query('SELECT count(*)::int AS n FROM purchases WHERE tenant_id = $1', [tenant.tenantId]);
    expect(rows[0].n).toBe(0);

    const fixed = await api.post('/v1/sync', catalog(undefined));
    expect(fixed.status).toBe(200);
    expect(fixed.body.warnings).toEqual([]);
  });
});
