/**
 * A size-capped map that forgets the least recently used entry first (a Map
 * keeps insertion order: a read re-inserts the key at the end, eviction takes
 * from the front). For in-process caches keyed by something unbounded, such as
 * customer × credit system, so memory stays bounded however many keys a
 * long-running process sees.
 */
export class LruCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    if (!this.entries.has(key)) return undefined;
    const value = this.entries.get(key) as V;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: K, value: V): this {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    return this;
  }

  /** Whether the key is held (does not count as a use). */
  has(key: K): boolean {
    return this.entries.has(key);
  }

  clear(): void {
    this.entries.clear();
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  /** Drops every entry whose key matches (e.g. all systems of one customer). */
  deleteWhere(match: (key: K) => boolean): void {
    for (const key of [...this.entries.keys()]) if (match(key)) this.entries.delete(key);
  }
}
