import { describe, expect, it } from 'vitest';
import { refundAmountMinor } from './refunds.ts';

describe('refundAmountMinor', () => {
  it('gives the whole price back under the full rule, whatever was spent', () => {
    expect(refundAmountMinor('full', 4900n, 500_000_000n, 0n)).toBe(4900n);
    expect(refundAmountMinor('full', 4900n, 500_000_000n, 123n)).toBe(4900n);
  });

  it('gives back the unspent share, rounded down to the minor unit', () => {
    // 500 credits for 49.00: 300 unspent = 29.40
    expect(refundAmountMinor('unspent', 4900n, 500_000_000n, 300_000_000n)).toBe(2940n);
    // 3 credits for 1.00, 1 unspent = 0.333… → 0.33
    expect(refundAmountMinor('unspent', 100n, 3_000_000n, 1_000_000n)).toBe(33n);
    expect(refundAmountMinor('unspent', 100n, 3_000_000n, 3_000_000n)).toBe(100n);
    expect(refundAmountMinor('unspent', 100n, 3_000_000n, 0n)).toBe(0n);
    // one micro-credit unspent of a large pack is worth nothing in cents
    expect(refundAmountMinor('unspent', 99_999n, 10_000_000_000n, 1n)).toBe(0n);
  });

  it('stays exact beyond 2^53', () => {
    const credits = 9_000_000_000_000_000n;
    expect(refundAmountMinor('unspent', 9_999_999_999n, credits, credits / 2n)).toBe(4_999_999_999n);
  });

  it('refuses amounts that cannot be', () => {
    expect(() => refundAmountMinor('unspent', 100n, 10n, 11n)).toThrow(RangeError);
    expect(() => refundAmountMinor('unspent', 100n, 0n, 0n)).toThrow(RangeError);
    expect(() => refundAmountMinor('unspent', -1n, 10n, 1n)).toThrow(RangeError);
  });
});
