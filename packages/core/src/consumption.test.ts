import { describe, expect, it } from 'vitest';
import { consume, planRemaining, purchasedAvailable, type GrantState } from './consumption.ts';
import { toMicro } from './amounts.ts';

const grant = (id: string, credits: number, grantedAtMs: number, expiresAtMs: number | null = null): GrantState => ({
  id,
  remainingMicro: toMicro(credits),
  grantedAtMs,
  expiresAtMs,
});

describe('consume', () => {
  it('takes the plan allowance first, then grants oldest first, then overage', () => {
    const state = { limitMicro: toMicro(100), usedMicro: toMicro(90), grants: [grant('new', 50, 2000), grant('old', 20, 1000)] };
    const { split, state: next } = consume(state, toMicro(100), 5000);
    expect(split).toEqual({ planMicro: toMicro(10), purchasedMicro: toMicro(70), overageMicro: toMicro(20) });
    expect(next.usedMicro).toBe(toMicro(100));
    expect(next.grants.map((g) => [g.id, g.remainingMicro])).toEqual([
      ['old', 0n],
      ['new', 0n],
    ]);
  });

  it('splits one request across the plan and the oldest grant only as far as needed', () => {
    const state = { limitMicro: toMicro(50), usedMicro: toMicro(40), grants: [grant('a', 30, 1), grant('b', 30, 2)] };
    const { split, state: next } = consume(state, toMicro(20), 10);
    expect(split).toEqual({ planMicro: toMicro(10), purchasedMicro: toMicro(10), overageMicro: 0n });
    expect(next.grants.find((g) => g.id === 'a')?.remainingMicro).toBe(toMicro(20));
    expect(next.grants.find((g) => g.id === 'b')?.remainingMicro).toBe(toMicro(30));
  });

  it('skips expired grants and never touches an unlimited plan beyond the plan bucket', () => {
    const expired = { limitMicro: 0n, usedMicro: 0n, grants: [grant('gone', 100, 1, 50), grant('live', 5, 2)] };
    expect(consume(expired, toMicro(10), 100).split).toEqual({ planMicro: 0n, purchasedMicro: toMicro(5), overageMicro: toMicro(5) });
    const unlimited = { limitMicro: null, usedMicro: toMicro(1e6), grants: [grant('g', 5, 1)] };
    expect(consume(unlimited, toMicro(7), 0).split).toEqual({ planMicro: toMicro(7), purchasedMicro: 0n, overageMicro: 0n });
  });

  it('reports what is left', () => {
    expect(planRemaining({ limitMicro: toMicro(10), usedMicro: toMicro(12) })).toBe(0n);
    expect(planRemaining({ limitMicro: null, usedMicro: 5n })).toBeNull();
    expect(purchasedAvailable([grant('a', 3, 1), grant('b', 4, 1, 10)], 20)).toBe(toMicro(3));
  });
});
