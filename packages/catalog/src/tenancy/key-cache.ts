/**
 * The API key cache of one process, keyed by the secret's SHA-256 digest (hex).
 *
 * Known keys and unknown ones live in two size-capped LRU maps, so a flood of
 * made-up keys can neither grow memory without bound nor push the real keys
 * out (which would cost a Postgres query per request). Unknown keys are kept
 * briefly: long enough to absorb a client retrying a bad key, short enough
 * that memory follows the current flood only.
 *
 * Revocation reaches every process through the change bus (`dropKey`); the
 * TTL of known keys is only the fallback for a publish that was lost.
 */
export interface KeyCacheOptions {
  maxKnown?: number;
  knownTtlMs?: number;
  maxUnknown?: number;
  unknownTtlMs?: number;
  now?: () => number;
}

export const KEY_CACHE_DEFAULTS = { maxKnown: 10_000, knownTtlMs: 60_000, maxUnknown: 10_000, unknownTtlMs: 30_000 } as const;

interface Entry<V> {
  value: V;
  until: number;
}

/** Insertion-ordered Map as an LRU: a hit moves the key to the end, eviction takes from the front. */
class Lru<V> {
  readonly entries = new Map<string, Entry<V>>();

  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  get(key: string): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    this.entries.delete(key);
    if (hit.until <= this.now()) return undefined;
    this.entries.set(key, hit);
    return hit.value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, until: this.now() + this.ttlMs });
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }
}

export type CachedKey<V> = { found: true; value: V } | { found: false; value: null } | undefined;

export class KeyCache<V extends { apiKeyId: string }> {
  private readonly known: Lru<V>;
  private readonly unknown: Lru<true>;
  /**
   * Bumped by every invalidation: a lookup that started before one must not
   * store its (possibly pre-revocation) answer afterwards.
   */
  private generation = 0;

  constructor(options: KeyCacheOptions = {}) {
    const o = { ...KEY_CACHE_DEFAULTS, ...options };
    const now = options.now ?? Date.now;
    this.known = new Lru(o.maxKnown, o.knownTtlMs, now);
    this.unknown = new Lru(o.maxUnknown, o.unknownTtlMs, now);
  }

  get(digest: string): CachedKey<V> {
    const value = this.known.get(digest);
    if (value) return { found: true, value };
    if (this.unknown.get(digest)) return { found: false, value: null };
    return undefined;
  }

  /** A token to pass back to `set`, taken before the lookup starts. */
  begin(): number {
    return this.generation;
  }

  set(digest: string, value: V | null, token: number): void {
    if (token !== this.generation) return;
    if (value) this.known.set(digest, value);
    else this.unknown.set(digest, true);
  }

  /** A revoked key: dropped from this process at once (by id: the bus never carries digests). */
  dropKey(apiKeyId: string): void {
    this.generation++;
    for (const [digest, entry] of this.known.entries) if (entry.value.apiKeyId === apiKeyId) this.known.entries.delete(digest);
  }

  clear(): void {
    this.generation++;
    this.known.entries.clear();
    this.unknown.entries.clear();
  }

  get size(): { known: number; unknown: number } {
    return { known: this.known.entries.size, unknown: this.unknown.entries.size };
  }
}
