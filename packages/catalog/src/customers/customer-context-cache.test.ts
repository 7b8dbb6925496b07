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

  it('serves a stale value at once and reloads it once in the background', async () => {
    let now = 0;
    const cache = new TtlCache<string>(1000, 10, () => now, 60_000);
    let loads = 0;
    const load = async () => `v${++loads}`;
    expect(await cache.getOrLoad('k', load)).toBe('v1');
    now = 1500;
    // past the TTL: the old value, synchronously, and one background load for both callers
    expect(cache.getOrLoad('k', load)).toBe('v1');
    expect(cache.getOrLoad('k', load)).toBe('v1');
    await new Promise((r) => setImmediate(r));
    expect(loads).toBe(2);
    expect(cache.getOrLoad('k', load)).toBe('v2');
    now = 1500 + 60_000;
    // too old to serve: the caller waits for the loader
    expect(await cache.getOrLoad('k', load)).toBe('v3');
  });

  it('a delete during a load keeps that older answer out of the cache', async () => {
    const cache = new TtlCache<string>(1000, 10, () => 0);
    let release!: (v: string) => void;
    const pending = cache.getOrLoad('k', () => new Promise<string>((r) => (release = r)));
    cache.delete('k');
    release('before the write');
    expect(await pending).toBe('before the write');
    expect(cache.get('k')).toBeUndefined();
    expect(await cache.getOrLoad('k', async () => 'after the write')).toBe('after the write');
  });

  it('keeps the stale value when the background load fails', async () => {
    let now = 0;
    const cache = new TtlCache<string>(1000, 10, () => now);
    cache.set('k', 'old');
    now = 2000;
    expect(cache.getOrLoad('k', () => Promise.reject(new Error('postgres down')))).toBe('old');
    await new Promise((r) => setImmediate(r));
    expect(cache.getOrLoad('k', async () => 'new')).toBe('old');
    await new Promise((r) => setImmediate(r));
    expect(cache.get('k')).toBe('new');
  });
});
