import { describe, expect, it } from 'vitest';
import { codeForSplit, decideCheck } from './check.ts';

const base = { kind: 'credit_system' as const, overage: 'block' as const };

describe('decideCheck', () => {
  it('grants from the plan, then from purchased credits', () => {
    expect(decideCheck({ ...base, neededMicro: 20n, planRemainingMicro: 20n, purchasedMicro: 0n })).toEqual({ allowed: true, code: 'access_granted' });
    expect(decideCheck({ ...base, neededMicro: 20n, planRemainingMicro: 10n, purchasedMicro: 10n })).toEqual({ allowed: true, code: 'addon_credits_used' });
    expect(decideCheck({ ...base, neededMicro: 5n, planRemainingMicro: null, purchasedMicro: 0n }).code).toBe('access_granted');
  });

  it('denies beyond the balance unless overage is charged', () => {
    expect(decideCheck({ ...base, neededMicro: 21n, planRemainingMicro: 10n, purchasedMicro: 10n })).toEqual({ allowed: false, code: 'insufficient_credits' });
    expect(decideCheck({ ...base, kind: 'feature', neededMicro: 2n, planRemainingMicro: 1n, purchasedMicro: 0n }).code).toBe('limit_exceeded');
    expect(decideCheck({ ...base, overage: 'charge', neededMicro: 99n, planRemainingMicro: 0n, purchasedMicro: 0n })).toEqual({ allowed: true, code: 'overage_allowed' });
  });

  it('names a debit by the buckets it used', () => {
    expect(codeForSplit({ purchasedMicro: 0n, overageMicro: 0n })).toBe('access_granted');
    expect(codeForSplit({ purchasedMicro: 1n, overageMicro: 0n })).toBe('addon_credits_used');
    expect(codeForSplit({ purchasedMicro: 1n, overageMicro: 1n })).toBe('overage_allowed');
  });
});
