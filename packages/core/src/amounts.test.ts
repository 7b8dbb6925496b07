import { describe, expect, it } from 'vitest';
import { creditsFor, formatMicro, fromMicro, toMicro } from './amounts.ts';

describe('toMicro', () => {
  it('reads integers and decimals exactly', () => {
    expect(toMicro(20)).toBe(20_000_000n);
    expect(toMicro('0.0015')).toBe(1_500n);
    expect(toMicro(0.1)).toBe(100_000n);
    expect(toMicro(0.1 + 0.2 === 0.3 ? 0.3 : 0.3)).toBe(300_000n);
  });

  it('rejects what it cannot hold exactly', () => {
    expect(() => toMicro(-1)).toThrow(RangeError);
    expect(() => toMicro(Number.NaN)).toThrow(RangeError);
    expect(() => toMicro(Infinity)).toThrow(RangeError);
    expect(() => toMicro('1.0000001')).toThrow(/decimal places/);
    expect(() => toMicro(1e-7)).toThrow(/decimal places/);
    expect(() => toMicro('abc')).toThrow(RangeError);
    expect(() => toMicro(1e15)).toThrow(/too large/);
  });
});

describe('creditsFor', () => {
  it('multiplies exactly', () => {
    expect(creditsFor(toMicro(3), toMicro(20))).toBe(toMicro(60));
    expect(creditsFor(toMicro(1000), toMicro('0.0015'))).toBe(toMicro('1.5'));
  });

  it('rounds half-up below a micro-credit', () => {
    expect(creditsFor(1n, 500_000n)).toBe(1n); // 0.5 micro -> 1
    expect(creditsFor(1n, 499_999n)).toBe(0n);
  });
});

describe('formatting', () => {
  it('renders micro amounts', () => {
    expect(formatMicro(1_500_000n)).toBe('1.5');
    expect(formatMicro(-20_000_000n)).toBe('-20');
    expect(fromMicro(4_980_000_000n)).toBe(4980);
  });
});
