import { describe, expect, it } from 'vitest';
import { consume, grantRemainders, planRemaining, purchasedAvailable, rolloverCarry, rolloverLife, rolloverWindows, spendingOrder, spendingScore, type GrantState } from './consumption.ts';
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

const DAY = 86_400_000;

describe('spending order', () => {
  it('spends the oldest-expiring grant first, then grants without expiry oldest first, ties by id', () => {
    const t0 = 1_800_000_000_000;
    const grants = [
      grant('forever-old', 1, t0),
      grant('late-expiry-bought-first', 1, t0 + 1, t0 + 90 * DAY),
      grant('forever-new', 1, t0 + 5),
      grant('early-expiry-bought-last', 1, t0 + 9, t0 + 30 * DAY),
      grant('b-same-expiry', 1, t0 + 3, t0 + 30 * DAY),
      grant('a-same-grant-time', 1, t0 + 5),
    ];
    const expected = ['b-same-expiry', 'early-expiry-bought-last', 'late-expiry-bought-first', 'forever-old', 'a-same-grant-time', 'forever-new'];
    expect(spendingOrder(grants).map((g) => g.id)).toEqual(expected);
    // the Redis score orders the same way (a sorted set breaks equal scores by member)
    const byScore = [...grants].sort((a, b) => spendingScore(a) - spendingScore(b) || (a.id < b.id ? -1 : 1));
    expect(byScore.map((g) => g.id)).toEqual(expected);
    // scores stay exact integers below 2^53 for any date before 2286
    expect(Number.isSafeInteger(spendingScore({ grantedAtMs: 9_000_000_000_000, expiresAtMs: null }))).toBe(true);
  });

  it('consume takes the expiring pack before an older pack without expiry, and skips it once expired', () => {
    const state = { limitMicro: 0n, usedMicro: 0n, grants: [grant('old', 10, 1000), grant('expiring', 10, 2000, 10_000)] };
    const before = consume(state, toMicro(4), 9_999);
    expect(before.state.grants.map((g) => [g.id, g.remainingMicro])).toEqual([['expiring', toMicro(6)], ['old', toMicro(10)]]);
    const after = consume(before.state, toMicro(4), 10_000);
    expect(after.split).toEqual({ planMicro: 0n, purchasedMicro: toMicro(4), overageMicro: 0n });
    expect(after.state.grants.map((g) => [g.id, g.remainingMicro])).toEqual([['expiring', toMicro(6)], ['old', toMicro(6)]]);
  });
});

describe('grantRemainders (rebuild)', () => {
  const ledger = (id: string, credits: number, grantedAtMs: number, expiresAtMs: number | null = null, revoked = false) => ({ ...grant(id, credits, grantedAtMs, expiresAtMs), revoked });
  const NOW = 100;

  it('keeps an expired grant at what its own takes left it; the rest of the usage is spent over the live grants', () => {
    const grants = [ledger('a', 100, 1, 50), ledger('b', 40, 2)];
    const left = grantRemainders(grants, { takes: new Map([['a', toMicro(30)], ['b', toMicro(15)]]), untrackedMicro: 0n }, NOW);
    expect([...left].sort()).toEqual([['a', toMicro(70)], ['b', toMicro(25)]]);
  });

  it('spends all purchased usage again in spending order, whichever grant a row took from (a reverted row frees the newest spend)', () => {
    // 'older' 30 and 'newer' 50, no expiry: rows left after a revert took 10 from newer and 5 without takes
    const grants = [ledger('newer', 50, 20), ledger('older', 30, 10)];
    const left = grantRemainders(grants, { takes: new Map([['newer', toMicro(10)]]), untrackedMicro: toMicro(5) }, NOW);
    expect(left.get('older')).toBe(toMicro(15));
    expect(left.get('newer')).toBe(toMicro(50));
  });

  it('a refunded grant keeps nothing and stays charged with what it gave; usage a revert frees goes back to the open grants', () => {
    // x 50 (open), r 20 (refunded when fully spent: 0 revoked), y 50. Rows left after a revert that took 30 off x: x 20, r 20, y 10
    const grants = [ledger('x', 50, 1), ledger('r', 20, 2, null, true), ledger('y', 50, 3)];
    const left = grantRemainders(grants, { takes: new Map([['x', toMicro(20)], ['r', toMicro(20)], ['y', toMicro(10)]]), untrackedMicro: 0n }, NOW);
    // 50 of usage: r accounts for its 20, the other 30 fill x first: x 20 left, y untouched
    expect(left.get('r')).toBe(0n);
    expect(left.get('x')).toBe(toMicro(20));
    expect(left.get('y')).toBe(toMicro(50));
  });

  it('never reopens a refunded grant whose usage was reverted: its credits are not given back to it', () => {
    // 'gone' refunded fully spent (20 given); the import that spent it reverted (no takes left); 'next' 50 untouched
    const grants = [ledger('gone', 20, 5, null, true), ledger('next', 50, 6)];
    const left = grantRemainders(grants, { takes: new Map(), untrackedMicro: 0n }, NOW);
    expect(left.get('gone')).toBe(0n);
    expect(left.get('next')).toBe(toMicro(50));
  });

  it('spends a grant that expires later after one that expires sooner, whatever their grant times', () => {
    const grants = [ledger('late', 10, 1, 500), ledger('soon', 10, 2, 200), ledger('none', 10, 0)];
    const left = grantRemainders(grants, { takes: new Map(), untrackedMicro: toMicro(15) }, NOW);
    expect(left.get('soon')).toBe(0n);
    expect(left.get('late')).toBe(toMicro(5));
    expect(left.get('none')).toBe(toMicro(10));
  });
});

describe('rollover', () => {
  const at = (iso: string) => Date.parse(iso);

  it('carries the unused allowance, never negative, capped at max; nothing from an unlimited limit', () => {
    expect(rolloverCarry(toMicro(100), toMicro(20), toMicro(50))).toBe(toMicro(50));
    expect(rolloverCarry(toMicro(100), toMicro(70), toMicro(50))).toBe(toMicro(30));
    expect(rolloverCarry(toMicro(100), toMicro(130), toMicro(50))).toBe(0n);
    expect(rolloverCarry(null, 0n, toMicro(50))).toBe(0n);
    expect(rolloverCarry(toMicro(100), toMicro(100) - 1n, toMicro(50))).toBe(1n);
  });

  it('the windows are the calendar periods before the current one, oldest first, none before the anchor', () => {
    const anchor = new Date('2026-01-31T10:00:00.400Z'); // cut to the second, as meterPeriod does
    // current period: 2026-04-30T10:00:00Z (the 31st clamped) .. 2026-05-31
    const windows = rolloverWindows(anchor, 'monthly', at('2026-04-30T10:00:00Z'), 2);
    expect(windows).toEqual([
      { startMs: at('2026-02-28T10:00:00Z'), endMs: at('2026-03-31T10:00:00Z') },
      { startMs: at('2026-03-31T10:00:00Z'), endMs: at('2026-04-30T10:00:00Z') },
    ]);
    // the second period of the subscription has only the first before it
    expect(rolloverWindows(anchor, 'monthly', at('2026-02-28T10:00:00Z'), 3)).toEqual([{ startMs: at('2026-01-31T10:00:00Z'), endMs: at('2026-02-28T10:00:00Z') }]);
    expect(rolloverWindows(anchor, 'monthly', at('2026-01-31T10:00:00Z'), 3)).toEqual([]);
    expect(rolloverWindows(anchor, 'daily', at('2026-02-03T10:00:00Z'), 1)).toEqual([{ startMs: at('2026-02-02T10:00:00Z'), endMs: at('2026-02-03T10:00:00Z') }]);
  });

  it('a carry from the period just before lives `periods` periods, an older one fewer', () => {
    expect(rolloverLife(3, 3, 2)).toBe(3);
    expect(rolloverLife(3, 3, 0)).toBe(1);
    expect(rolloverLife(2, 1, 0)).toBe(2);
  });
});

describe('consume with a rollover carry', () => {
  it('spends the carry before the plan allowance and counts it as purchased', () => {
    const state = { limitMicro: toMicro(100), usedMicro: 0n, grants: [grant('bought', 50, 1), grant('ro:ai-credits:1000', 30, 1000)] };
    const { split, state: next } = consume(state, toMicro(150), 5000);
    // 30 carry + 100 plan + 20 of the pack
    expect(split).toEqual({ planMicro: toMicro(100), purchasedMicro: toMicro(50), overageMicro: 0n });
    expect(next.grants.map((g) => [g.id, g.remainingMicro])).toEqual([['bought', toMicro(30)], ['ro:ai-credits:1000', 0n]]);
  });
});
