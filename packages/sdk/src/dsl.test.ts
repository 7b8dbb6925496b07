import { describe, expect, it } from 'vitest';
import { boolean, creditPack, creditSystem, metered, plan } from './dsl.ts';
import { buildSyncBody, CatalogConfigError } from './collect.ts';

describe('catalog DSL → sync body', () => {
  it('writes the seed exactly as Owostack’s guide does', () => {
    const aiTokens = metered('ai-tokens', { name: 'AI Tokens' });
    const gpt4 = metered('gpt-4');
    const dallE = metered('dall-e');
    const aiCredits = creditSystem('ai-credits', { name: 'AI Credits', features: [aiTokens(1), gpt4(20), dallE(50)] });
    const pro = plan('pro', {
      name: 'Pro', price: 2000, currency: 'USD', interval: 'monthly',
      features: [aiTokens.limit(5000, { creditCost: 1 }), aiCredits.credits(5000, { reset: 'monthly' })],
    });
    const pack = creditPack('500-ai-credits', { name: '500 AI Credits', credits: 500, price: 1000, currency: 'USD', creditSystem: 'ai-credits' });

    // Only the plan and the pack are exported: features and the system come along as references.
    expect(buildSyncBody({ pro, pack })).toEqual({
      features: [
        { slug: 'ai-tokens', type: 'metered', name: 'AI Tokens' },
        { slug: 'gpt-4', type: 'metered' },
        { slug: 'dall-e', type: 'metered' },
      ],
      creditSystems: [
        { slug: 'ai-credits', name: 'AI Credits', features: [{ feature: 'ai-tokens', creditCost: 1 }, { feature: 'gpt-4', creditCost: 20 }, { feature: 'dall-e', creditCost: 50 }] },
      ],
      creditPacks: [{ slug: '500-ai-credits', name: '500 AI Credits', credits: 500, price: 1000, currency: 'USD', creditSystem: 'ai-credits' }],
      plans: [
        {
          slug: 'pro', name: 'Pro', price: 2000, currency: 'USD', interval: 'monthly',
          features: [
            { slug: 'ai-tokens', enabled: true, limit: 5000, creditCost: 1 },
            { slug: 'ai-credits', enabled: true, limit: 5000, reset: 'monthly' },
          ],
        },
      ],
    });
  });

  it('accepts a default-exported array, boolean features and features placed directly in a plan', () => {
    const sso = boolean('sso', { name: 'SSO' });
    const api = metered('api-calls');
    const team = plan('team', { name: 'Team', price: 0, currency: 'USD', interval: 'monthly', features: [sso, api.unlimited({ overage: 'charge' }), api.limit(1)] });
    const body = buildSyncBody({ default: [team] });
    expect(body.features).toEqual([{ slug: 'sso', type: 'boolean', name: 'SSO' }, { slug: 'api-calls', type: 'metered' }]);
    expect(body.plans?.[0]?.features).toEqual([
      { slug: 'sso', enabled: true },
      { slug: 'api-calls', enabled: true, limit: null, overage: 'charge' },
      { slug: 'api-calls', enabled: true, limit: 1 },
    ]);
  });

  it('a pack may name its credit system by object, which is then included', () => {
    const sys = creditSystem('c', { name: 'C', features: [] });
    const body = buildSyncBody([creditPack('p', { name: 'P', credits: 1, price: 1, currency: 'USD', creditSystem: sys })]);
    expect(body.creditSystems).toEqual([{ slug: 'c', name: 'C', features: [] }]);
    expect(body.creditPacks?.[0]?.creditSystem).toBe('c');
  });

  it('refuses one slug defined twice with different settings', () => {
    expect(() => buildSyncBody([metered('x', { name: 'A' }), metered('x', { name: 'B' })])).toThrow(CatalogConfigError);
    expect(buildSyncBody([metered('x'), metered('x')]).features).toHaveLength(1);
  });
});
