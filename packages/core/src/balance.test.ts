import { describe, expect, it } from 'vitest';
import { meterPeriod, NO_PERIOD_END_MS, resolveMeter } from './balance.ts';
import type { CatalogSnapshot, EntitlementDef, PlanDef } from './catalog.ts';
import { toMicro } from './amounts.ts';

const ent = (slug: string, kind: EntitlementDef['kind'], limit: number | null, extra: Partial<EntitlementDef> = {}): EntitlementDef => ({
  slug, kind, enabled: true, limitMicro: limit === null ? null : toMicro(limit), trialLimitMicro: null, reset: 'monthly', overage: 'block', creditCostMicro: null, ...extra,
});

const snapshot = {
  tenantId: 't', version: 1n, defaultProvider: 'sandbox', creditPacks: new Map(), plans: new Map(),
  creditSystems: new Map(),
  features: new Map([
    ['gpt-4', { id: '1', slug: 'gpt-4', name: 'gpt-4', type: 'metered', meterType: 'consumable', creditSystem: { slug: 'ai-credits', costMicro: toMicro(20) } }],
    ['seats', { id: '2', slug: 'seats', name: 'seats', type: 'metered', meterType: 'consumable', creditSystem: null }],
    ['sso', { id: '3', slug: 'sso', name: 'sso', type: 'boolean', meterType: 'consumable', creditSystem: null }],
  ]),
} as unknown as CatalogSnapshot;

const plan = (entitlements: EntitlementDef[]) => ({ slug: 'pro', entitlements: new Map(entitlements.map((e) => [e.slug, e])) }) as unknown as PlanDef;

describe('resolveMeter', () => {
  it('draws a credit-system member from the system allowance at its credit cost', () => {
    const r = resolveMeter(snapshot, plan([ent('ai-credits', 'credit_system', 5000)]), null, 'gpt-4');
    expect(r).toEqual({ ok: true, def: expect.objectContaining({ meter: 'ai-credits', kind: 'credit_system', costMicro: toMicro(20), limitMicro: toMicro(5000), inPlan: true }) });
  });

  it('uses a per-plan cost override and the trial limit while trialing', () => {
    const r = resolveMeter(snapshot, plan([ent('ai-credits', 'credit_system', 5000, { trialLimitMicro: toMicro(10) }), ent('gpt-4', 'feature', null, { creditCostMicro: toMicro(25) })]), { status: 'trialing' }, 'gpt-4');
    expect(r.ok && [r.def.costMicro, r.def.limitMicro]).toEqual([toMicro(25), toMicro(10)]);
  });

  it('without a plan allowance the member still meters (purchased credits, then overage)', () => {
    const r = resolveMeter(snapshot, null, null, 'gpt-4');
    expect(r.ok && [r.def.limitMicro, r.def.inPlan, r.def.reset]).toEqual([0n, false, 'never']);
  });

  it('meters a standalone feature in its own units and rejects unknown or boolean features', () => {
    const r = resolveMeter(snapshot, plan([ent('seats', 'feature', 3)]), null, 'seats');
    expect(r.ok && [r.def.meter, r.def.costMicro, r.def.creditSystem]).toEqual(['seats', 1_000_000n, '']);
    expect(resolveMeter(snapshot, null, null, 'nope')).toEqual({ ok: false, code: 'feature_not_found' });
    expect(resolveMeter(snapshot, null, null, 'sso')).toEqual({ ok: false, code: 'boolean_feature' });
  });
});

describe('meterPeriod', () => {
  it('is the anchored period cut to whole seconds, or open-ended', () => {
    const p = meterPeriod({ reset: 'monthly' }, new Date('2026-01-31T10:00:00.750Z'), new Date('2026-02-15T00:00:00Z'));
    expect([new Date(p.startMs).toISOString(), new Date(p.endMs).toISOString()]).toEqual(['2026-01-31T10:00:00.000Z', '2026-02-28T10:00:00.000Z']);
    expect(meterPeriod({ reset: 'never' }, new Date(), new Date())).toEqual({ startMs: 0, endMs: NO_PERIOD_END_MS });
    expect(meterPeriod({ reset: 'monthly' }, null, new Date())).toEqual({ startMs: 0, endMs: NO_PERIOD_END_MS });
  });
});
