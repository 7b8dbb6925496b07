import { describe, expect, it } from 'vitest';
import { DEDUP_WINDOW_MS, dedupGenerations, idDigest, payloadFingerprint } from './fingerprints.ts';

const base = { feature: 'gpt-4', valueMicro: 1_000_000n, timestampMs: 1_700_000_000_000, entity: null, properties: '{}' };

describe('dedup encoding', () => {
  it('keeps 8 bytes per id and 4 per payload, stable across calls', () => {
    expect(idDigest('evt_1')).toHaveLength(8);
    expect(idDigest('evt_1').equals(idDigest('evt_1'))).toBe(true);
    expect(idDigest('evt_1').equals(idDigest('evt_2'))).toBe(false);
    expect(payloadFingerprint(base)).toHaveLength(4);
  });

  it('tells a different payload apart (conflict) from the same one (duplicate)', () => {
    const fp = payloadFingerprint(base);
    expect(payloadFingerprint({ ...base }).equals(fp)).toBe(true);
    for (const change of [{ valueMicro: 2_000_000n }, { feature: 'dall-e' }, { timestampMs: base.timestampMs + 1 }, { entity: 'x' }, { properties: '{"a":1}' }]) {
      expect(payloadFingerprint({ ...base, ...change }).equals(fp)).toBe(false);
    }
  });

  it('remembers an id for at least 35 days: current and previous generation, expiring after both', () => {
    const t = 100 * DEDUP_WINDOW_MS + 123;
    const g = dedupGenerations(t);
    expect([g.current, g.previous]).toEqual(['100', '99']);
    // an id written at the very end of generation 100 is still looked up 35 days later (as "previous")
    const later = dedupGenerations(101 * DEDUP_WINDOW_MS - 1 + DEDUP_WINDOW_MS);
    expect(later.previous).toBe('100');
    expect(g.expireAtMs).toBeGreaterThanOrEqual(102 * DEDUP_WINDOW_MS);
  });
});
