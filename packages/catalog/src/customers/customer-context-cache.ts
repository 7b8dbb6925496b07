/**
 * A small TTL cache keyed by (tenant, customer). Entries expire after `ttlMs`
 * so writes made by another process are seen within that time; writes in this
 * process delete the entry at once. The oldest entries are dropped past `max`.
 *
 * `getOrLoad` serves stale while revalidating: an entry past its TTL but
 * younger than `maxStaleMs` is returned at once and reloaded in the
 * background, so a hot key never waits on the loader (one load per key at a
 * time). Only a missing (or older than `maxStaleMs`) entry waits for it.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; at: number }>();
  /** Loads in flight by key; `delete` drops the key so a load started before a write cannot store its older answer. */
  private readonly loading = new Map<string, Promise<V>>();

  constructor(
    private readonly ttlMs: number,
    private readonly max = 100_000,
    private readonly now: () => number = Date.now,
    private readonly maxStaleMs = 60_000,
  ) {}

  get(key: string): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (this.now() - hit.at >= this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return hit.value;
  }

  /** The cached value (stale ones refreshed in the background), or the loader's answer when there is none. */
  getOrLoad(key: string, load: () => Promise<V>): V | Promise<V> {
    const hit = this.entries.get(key);
    if (hit) {
      const age = this.now() - hit.at;
      if (age < this.ttlMs) return hit.value;
      if (age < this.maxStaleMs) {
        // A failed background load keeps the stale value; the next request past the TTL tries again.
        if (!this.loading.has(key)) this.start(key, load).catch(() => {});
        return hit.value;
      }
    }
    return this.loading.get(key) ?? this.start(key, load);
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, at: this.now() });
    if (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  clear(): void {
    this.entries.clear();
    this.loading.clear();
  }

  delete(key: string): void {
    this.entries.delete(key);
    this.loading.delete(key);
  }

  private start(key: string, load: () => Promise<V>): Promise<V> {
    const pending = load().then(
      (value) => {
        if (this.loading.get(key) === pending) {
          this.loading.delete(key);
          this.set(key, value);
        }
        return value;
      },
      (err: unknown) => {
        if (this.loading.get(key) === pending) this.loading.delete(key);
        throw err;
      },
    );
    this.loading.set(key, pending);
    return pending;
  }
}
