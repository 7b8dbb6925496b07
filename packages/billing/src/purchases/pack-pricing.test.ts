import { describe, expect, it } from 'vitest';
import type { CatalogSnapshot, CreditPackDef } from '@tally/core';
import { findPack, priceOrder } from './pack-pricing.ts';

const pack = (over: Partial<CreditPackDef> = {}): CreditPackDef => ({
  id: '6b0f3d1e-0000-4000-8000-000000000001',
  slug: '500-ai-credits',
  name: '500 AI Credits',
  description: null,
  creditsMicro: 500_000_000n,
  priceMinor: 1000n,
  currency: 'USD',
  creditSystem: 'ai-credits',
  provider: null,
  archived: false,
  refundPolicy: 'unspent',
  ...over,
});

const snapshot = (packs: CreditPackDef[], defaultProvider = 'sandbox'): CatalogSnapshot => ({
  tenantId: 't',
  version: 1n,
  defaultProvider,
  features: new Map(),
  creditSystems: new Map(),
  plans: new Map(),
  creditPacks: new Map(packs.map((p) => [p.slug, p])),
});

describe('pack pricing', () => {
  it('3 packs of 500 credits at 10.00 are 1,500 credits for 30.00, exactly', () => {
    const s = snapshot([pack()]);
    expect(priceOrder(s, findPack(s, '500-ai-credits'), 3)).toEqual({
      creditsMicro: 1_500_000_000n,
      amountMinor: 3000n,
      currency: 'USD',
      provider: 'sandbox',
    });
  });

  it('finds a pack by id and takes its own provider over the tenant default', () => {
    const s = snapshot([pack({ provider: 'stripe' })], 'sandbox');
    const p = findPack(s, '6b0f3d1e-0000-4000-8000-000000000001');
    expect(priceOrder(s, p, 1).provider).toBe('stripe');
    expect(priceOrder(snapshot([pack()], 'stripe'), p, 1).provider).toBe('stripe');
  });

  it('refuses unknown or archived packs, bad quantities and another currency', () => {
    const s = snapshot([pack(), pack({ slug: 'old', id: 'x', archived: true })]);
    expect(() => findPack(s, 'nope')).toThrow(expect.objectContaining({ code: 'pack_not_found', status: 404 }));
    expect(() => findPack(s, 'old')).toThrow(expect.objectContaining({ code: 'pack_not_found' }));
    expect(() => priceOrder(s, pack(), 0)).toThrow(/1 to 100/);
    expect(() => priceOrder(s, pack(), 101)).toThrow(/1 to 100/);
    expect(() => priceOrder(s, pack(), 1.5)).toThrow(/1 to 100/);
    expect(() => priceOrder(s, pack(), 1, 'EUR')).toThrow(expect.objectContaining({ code: 'currency_mismatch', status: 400 }));
    expect(priceOrder(s, pack(), 1, 'usd').currency).toBe('USD');
  });
});
