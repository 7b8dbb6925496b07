import { describe, expect, it } from 'vitest';
import { buildCatalogSpec, canonical, CatalogReferenceError, diffSection, type ExistingSlugs, type SyncInput } from './catalog-sync.ts';

const none: ExistingSlugs = { features: new Set(), creditSystems: new Set(), membership: new Map() };

const seed = (): SyncInput => ({
  features: [{ slug: 'ai-tokens', type: 'metered', name: 'AI Tokens' }, { slug: 'gpt-4', type: 'metered' }, { slug: 'sso', type: 'boolean' }],
  creditSystems: [{ slug: 'ai-credits', name: 'AI Credits', features: [{ feature: 'gpt-4', creditCost: 20 }, { feature: 'ai-tokens', creditCost: 0.0015 }] }],
  creditPacks: [{ slug: '500-ai-credits', name: '500', credits: 500, price: 1000, currency: 'usd', creditSystem: 'ai-credits' }],
  plans: [
    {
      slug: 'pro', name: 'Pro', price: 2000, currency: 'USD', interval: 'monthly',
      features: [{ slug: 'ai-credits', limit: 5000 }, { slug: 'ai-tokens', limit: 5000, creditCost: 1 }, { slug: 'sso' }],
    },
  ],
});

const refError = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CatalogReferenceError);
    return err as CatalogReferenceError;
  }
  throw new Error('expected a CatalogReferenceError');
};

describe('buildCatalogSpec', () => {
  it('converts amounts exactly and fills defaults', () => {
    const spec = buildCatalogSpec(seed(), none);
    expect(spec.features.get('gpt-4')).toEqual({ slug: 'gpt-4', name: 'gpt-4', type: 'metered', meterType: 'consumable' });
    expect(spec.creditSystems.get('ai-credits')?.members).toEqual([['ai-tokens', 1_500n], ['gpt-4', 20_000_000n]]);
    expect(spec.creditPacks.get('500-ai-credits')).toMatchObject({ creditsMicro: 500_000_000n, priceMinor: 1000n, currency: 'USD', provider: null });
    const pro = spec.plans.get('pro')!;
    expect(pro.entitlements.map((e) => [e.slug, e.kind, e.limitMicro, e.reset, e.overage, e.creditCostMicro])).toEqual([
      ['ai-credits', 'credit_system', 5_000_000_000n, 'monthly', 'block', null],
      ['ai-tokens', 'feature', 5_000_000_000n, 'monthly', 'block', 1_000_000n],
      ['sso', 'feature', null, 'never', 'block', null],
    ]);
  });

  it('names the slug of an unknown plan feature, pack credit system or member feature', () => {
    const plan = seed();
    plan.plans[0]!.features.push({ slug: 'ghost' });
    expect(refError(() => buildCatalogSpec(plan, none)).slug).toBe('ghost');
    const pack = seed();
    pack.creditPacks[0]!.creditSystem = 'nope';
    expect(refError(() => buildCatalogSpec(pack, none)).slug).toBe('500-ai-credits');
    const member = seed();
    member.creditSystems[0]!.features.push({ feature: 'missing', creditCost: 1 });
    expect(refError(() => buildCatalogSpec(member, none)).slug).toBe('missing');
  });

  it('resolves references against what the tenant already has', () => {
    const body: SyncInput = { features: [], creditSystems: [], creditPacks: [], plans: [{ slug: 'p', name: 'P', price: 0, currency: 'USD', interval: 'monthly', features: [{ slug: 'old-feature' }, { slug: 'old-system', limit: 1 }] }] };
    const spec = buildCatalogSpec(body, { features: new Set(['old-feature']), creditSystems: new Set(['old-system']), membership: new Map() });
    expect(spec.plans.get('p')?.entitlements.map((e) => e.kind)).toEqual(['feature', 'credit_system']);
  });

  it('rejects duplicates, double memberships and more than 6 decimals', () => {
    const dup = seed();
    dup.features.push({ slug: 'gpt-4', type: 'metered' });
    expect(refError(() => buildCatalogSpec(dup, none)).message).toContain('listed twice');
    const twoSystems = seed();
    twoSystems.creditSystems.push({ slug: 'other', name: 'Other', features: [{ feature: 'gpt-4', creditCost: 1 }] });
    expect(refError(() => buildCatalogSpec(twoSystems, none)).slug).toBe('gpt-4');
    const kept = seed();
    kept.creditSystems = [{ slug: 'new', name: 'New', features: [{ feature: 'gpt-4', creditCost: 1 }] }];
    kept.creditPacks = [];
    kept.plans = [];
    const existing = { features: new Set<string>(), creditSystems: new Set(['ai-credits']), membership: new Map([['gpt-4', 'ai-credits']]) };
    expect(refError(() => buildCatalogSpec(kept, existing)).message).toContain('already a member of credit system "ai-credits"');
    const precise = seed();
    precise.creditSystems[0]!.features[0]!.creditCost = 0.0000001;
    expect(refError(() => buildCatalogSpec(precise, none)).slug).toBe('gpt-4');
  });

  it('refuses a plan interval outside the documented list, naming the plan', () => {
    const input = seed();
    input.plans[0]!.interval = 'fortnightly';
    const err = refError(() => buildCatalogSpec(input, none));
    expect(err.slug).toBe('pro');
    expect(err.message).toContain('interval "fortnightly"');
    for (const interval of ['monthly', 'yearly', 'none', 'weekly']) {
      const ok = seed();
      ok.plans[0]!.interval = interval;
      expect(buildCatalogSpec(ok, none).plans.get('pro')!.interval).toBe(interval);
    }
  });

  it('refuses a plan limit whose credits at the member cost exceed 2^53 - 1 micro-credits', () => {
    // 2^53 - 1 micro-credits = 9,007,199,254.740991 credits. At 20 credits a unit:
    // 450,359,962 units = 9,007,199,240 credits (fits), 450,359,963 = 9,007,199,260 (does not).
    const withLimit = (limit: number, creditCost?: number, trial = false) => {
      const input = seed();
      const entry = { slug: 'gpt-4', ...(trial ? { trialLimit: limit } : { limit }), ...(creditCost !== undefined ? { creditCost } : {}) };
      input.plans[0]!.features.push(entry);
      return input;
    };
    expect(buildCatalogSpec(withLimit(450_359_962), none).plans.get('pro')!.entitlements.find((e) => e.slug === 'gpt-4')!.limitMicro).toBe(450_359_962_000_000n);
    const err = refError(() => buildCatalogSpec(withLimit(450_359_963), none));
    expect(err.slug).toBe('gpt-4');
    expect(err.message).toBe(
      'plan "pro": limit 450359963 of "gpt-4" at creditCost 20 is 9007199260 credits, more than the 2^53 - 1 micro-credits (9007199254.740991 credits) a balance holds exactly',
    );
    expect(refError(() => buildCatalogSpec(withLimit(450_359_963, undefined, true), none)).message).toContain('trialLimit 450359963');
    // the plan's own creditCost is the one that counts: 1 credit a unit fits, 2,000,000 does not
    expect(() => buildCatalogSpec(withLimit(450_359_963, 1), none)).not.toThrow();
    expect(refError(() => buildCatalogSpec(withLimit(5_000_000, 2_000_000), none)).message).toContain('10000000000000 credits');
    // standalone features count units, not credits: no cost, nothing to overflow
    const standalone = seed();
    standalone.features.push({ slug: 'seats', type: 'metered' });
    standalone.plans[0]!.features.push({ slug: 'seats', limit: 9_007_199_254 });
    expect(() => buildCatalogSpec(standalone, none)).not.toThrow();
  });

  it('refuses a slug that is both a feature and a credit system', () => {
    const clash = seed();
    clash.creditSystems.push({ slug: 'gpt-4', name: 'x', features: [] });
    expect(refError(() => buildCatalogSpec(clash, none)).slug).toBe('gpt-4');
  });
});

describe('diffSection', () => {
  it('splits slugs into created, updated, unchanged and absent', () => {
    const current = new Map([['a', { n: 1n }], ['b', { n: 2n }], ['c', { n: 3n }]]);
    const desired = new Map([['a', { n: 1n }], ['b', { n: 20n }], ['d', { n: 4n }]]);
    expect(diffSection(current, desired)).toEqual({ created: ['d'], updated: ['b'], unchanged: ['a'], absent: ['c'] });
  });

  it('the same spec built twice is unchanged (key order and bigint do not matter)', () => {
    const a = buildCatalogSpec(seed(), none);
    const b = buildCatalogSpec(seed(), none);
    for (const key of ['features', 'creditSystems', 'creditPacks', 'plans'] as const) {
      const d = diffSection(a[key] as Map<string, unknown>, b[key] as Map<string, unknown>);
      expect(d.created.length + d.updated.length + d.absent.length).toBe(0);
    }
    expect(canonical({ x: 1, y: { b: 2, a: 1n } })).toBe(canonical({ y: { a: 1n, b: 2 }, x: 1 }));
    expect(canonical({ a: 1n })).not.toBe(canonical({ a: 1 }));
  });
});
