import { describe, expect, it } from 'vitest';
import { TtlCache } from './customer-context-cache.ts';

describe('TtlCache', () => {
  it('expires entries after the TTL and caches null answers too', () => {
    let now = 0;
    const cache = new TtlCache<string | null>(1000, 10, () => now);
    cache.set('a', 'A');
    cache.set('missing', null);
    now = 999;
    expect(cache.get('a')).toBe('A');
    expect(cache.get('missing')).toBeNull();
    now = 1000;
    expect(cache.get('a')).toBeUndefined();
  });

  it('drops the oldest entry past its size and forgets deleted keys', () => {
    const cache = new TtlCache<number>(60_000, 2, () => 0);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')).toBe(3);
    cache.delete('c');
    expect(cache.get('c')).toBeUndefined();
  });
});
