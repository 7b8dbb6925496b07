import { describe, expect, it } from 'vitest';
import { LruCache } from './lru-cache.ts';

describe('LruCache', () => {
  it('never holds more than its cap, however many keys pass through', () => {
    const cache = new LruCache<string, number>(100);
    let largest = 0;
    for (let i = 0; i < 10_000; i++) {
      cache.set(`tenant\u0000customer-${i}\u0000ai-credits`, i);
      largest = Math.max(largest, cache.size);
    }
    expect(largest).toBe(100);
    expect(cache.size).toBe(100);
    // the survivors are exactly the 100 most recent keys
    expect(cache.get('tenant\u0000customer-9899\u0000ai-credits')).toBeUndefined();
    expect(cache.get('tenant\u0000customer-9900\u0000ai-credits')).toBe(9900);
    expect(cache.get('tenant\u0000customer-9999\u0000ai-credits')).toBe(9999);
  });

  it('evicts the least recently used: a read keeps an entry alive, a write replaces in place', () => {
    const cache = new LruCache<string, string>(3);
    cache.set('a', 'A').set('b', 'B').set('c', 'C');
    expect(cache.get('a')).toBe('A'); // a is now the most recent
    cache.set('d', 'D'); // evicts b, the least recently used
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('a'), cache.get('c'), cache.get('d')]).toEqual(['A', 'C', 'D']);
    cache.set('c', 'C2'); // same key: no growth
    expect(cache.size).toBe(3);
    expect(cache.get('c')).toBe('C2');
  });

  it('deletes one key or every key that matches', () => {
    const cache = new LruCache<string, number>(10);
    cache.set('t1:c1:x', 1).set('t1:c1:y', 2).set('t1:c2:x', 3);
    expect(cache.delete('t1:c2:x')).toBe(true);
    cache.deleteWhere((k) => k.startsWith('t1:c1:'));
    expect(cache.size).toBe(0);
  });

  it('refuses a cap that is not a positive whole number', () => {
    expect(() => new LruCache(0)).toThrow(RangeError);
    expect(() => new LruCache(1.5)).toThrow(RangeError);
  });
});

describe('LruCache has/clear', () => {
  it('has() does not count as a use; clear() empties it', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1).set('b', 2);
    expect(cache.has('a')).toBe(true);
    cache.set('c', 3); // a was not used by has(): it is the oldest and goes
    expect(cache.has('a')).toBe(false);
    expect(cache.has('b')).toBe(true);
    cache.clear();
    expect(cache.size).toBe(0);
  });
});
