import { describe, expect, it } from 'vitest';
import { proratedUpgrade } from './proration.ts';

const start = new Date('2026-01-01T00:00:00Z');
const end = new Date('2026-01-31T00:00:00Z'); // 30 days

describe('proratedUpgrade', () => {
  it('charges the difference for the time left, rounded down', () => {
    expect(proratedUpgrade(1000n, 4000n, start, end, new Date('2026-01-16T00:00:00Z'))).toBe(1500n); // half left
    expect(proratedUpgrade(1000n, 2000n, start, end, new Date('2026-01-21T00:00:00Z'))).toBe(333n); // 1000 × 10/30 = 333.3
    expect(proratedUpgrade(1000n, 2000n, start, end, start)).toBe(1000n);
    expect(proratedUpgrade(1000n, 2000n, start, end, end)).toBe(0n);
  });
  it('is zero for a cheaper or equal plan', () => {
    expect(proratedUpgrade(2000n, 1000n, start, end, start)).toBe(0n);
    expect(proratedUpgrade(2000n, 2000n, start, end, start)).toBe(0n);
  });
});
