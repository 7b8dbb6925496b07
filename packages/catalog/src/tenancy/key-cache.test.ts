import { describe, expect, it } from 'vitest';
import { KeyCache } from './key-cache.ts';

const identity = (apiKeyId: string) => ({ apiKeyId, tenantId: `t-${apiKeyId}` });

describe('KeyCache', () => {
  it('holds at most maxUnknown unknown keys, forgetting the least recently used first', () => {
    const cache = new KeyCache<{ apiKeyId: string }>({ maxUnknown: 100 });
    for (let i = 0; i < 1000; i++) cache.set(`unknown-${i}`, null, cache.begin());
    expect(cache.size.unknown).toBe(100);
    expect(cache.get('unknown-0')).toBeUndefined();
    expect(cache.get('unknown-999')).toEqual({ found: false, value: null });
    // a hit refreshes its place: unknown-900 survives the next 99 newcomers, unknown-901 does not
    cache.get('unknown-900');
    for (let i = 0; i < 99; i++) cache.set(`later-${i}`, null, cache.begin());
    expect(cache.get('unknown-900')).toEqual({ found: false, value: null });
    expect(cache.get('unknown-901')).toBeUndefined();
  });

  it('a flood of unknown keys never pushes out the known ones', () => {
    const cache = new KeyCache<{ apiKeyId: string }>({ maxUnknown: 10, maxKnown: 10 });
    cache.set('real', identity('k1'), cache.begin());
    for (let i = 0; i < 10_000; i++) cache.set(`junk-${i}`, null, cache.begin());
    expect(cache.get('real')).toEqual({ found: true, value: identity('k1') });
    expect(cache.size).toEqual({ known: 1, unknown: 10 });
  });

  it('forgets unknown keys after their short TTL and known ones after theirs', () => {
    let now = 0;
    const cache = new KeyCache<{ apiKeyId: string }>({ unknownTtlMs: 30_000, knownTtlMs: 60_000, now: () => now });
    cache.set('bad', null, cache.begin());
    cache.set('good', identity('k1'), cache.begin());
    now = 29_999;
    expect(cache.get('bad')).toEqual({ found: false, value: null });
    now = 30_000;
    expect(cache.get('bad')).toBeUndefined();
    expect(cache.size.unknown).toBe(0);
    expect(cache.get('good')?.found).toBe(true);
    now = 60_000;
    expect(cache.get('good')).toBeUndefined();
  });

  it('drops a revoked key by id, and a lookup started before the revocation does not store its answer', () => {
    const cache = new KeyCache<{ apiKeyId: string }>();
    cache.set('a', identity('k1'), cache.begin());
    cache.set('b', identity('k2'), cache.begin());
    const inFlight = cache.begin();
    cache.dropKey('k1');
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')?.found).toBe(true);
    cache.set('a', identity('k1'), inFlight); // answered from Postgres before the revoke committed
    expect(cache.get('a')).toBeUndefined();
    cache.clear();
    expect(cache.size).toEqual({ known: 0, unknown: 0 });
  });
});
