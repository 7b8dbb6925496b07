import type { CatalogSnapshot } from '@tally/core';
import { asDependencyError } from '@tally/postgres';
import { LruCache } from '@tally/runtime';
import type { SnapshotSource } from './catalog-repo.ts';

export interface CatalogCacheOptions {
  /** How long a cached snapshot is trusted before its version is checked again. */
  checkEveryMs?: number;
  /** Past this age a snapshot is not served while it is checked: the caller waits for the check. */
  maxStaleMs?: number;
  /** Tenants held per process (least recently used dropped first, then loaded again on their next request). */
  maxTenants?: number;
  now?: () => number;
}

export const CATALOG_CACHE_MAX_TENANTS = 10_000;

interface Entry {
  snapshot: CatalogSnapshot;
  checkedAt: number;
}

/**
 * Per-tenant catalog snapshots held in process. A snapshot is trusted for
 * `checkEveryMs` (1 s); after that one cheap query reads catalog_versions and
 * the snapshot is reloaded only when a sync (in any process) bumped it. That
 * check runs in the background while the held snapshot keeps being served, so
 * the hot path does no Postgres query for a tenant it holds. A sync in any
 * process invalidates at once (CatalogService, through the ChangeBus); the
 * version check is the fallback for a missed message.
 */
export class CatalogCache {
  private readonly entries: LruCache<string, Entry>;
  private readonly inFlight = new Map<string, Promise<CatalogSnapshot>>();
  private readonly checkEveryMs: number;
  private readonly maxStaleMs: number;
  private readonly now: () => number;

  constructor(private readonly source: SnapshotSource, options: CatalogCacheOptions = {}) {
    this.checkEveryMs = options.checkEveryMs ?? 1000;
    this.maxStaleMs = options.maxStaleMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.entries = new LruCache(options.maxTenants ?? CATALOG_CACHE_MAX_TENANTS);
  }

  /** Tenants held now (never more than maxTenants). */
  get size(): number {
    return this.entries.size;
  }

  async get(tenantId: string): Promise<CatalogSnapshot> {
    const entry = this.entries.get(tenantId);
    if (entry) {
      const age = this.now() - entry.checkedAt;
      if (age < this.checkEveryMs) return entry.snapshot;
      // Stale while revalidating: the version check (and a reload if a sync
      // elsewhere bumped it) runs in the background, so the hot path never
      // waits on Postgres for a tenant it holds; a failed check keeps the snapshot.
      if (age < this.maxStaleMs) {
        if (!this.inFlight.has(tenantId)) this.start(tenantId, entry).catch(() => {});
        return entry.snapshot;
      }
    }
    // One refresh per tenant at a time; concurrent callers share it.
    return this.inFlight.get(tenantId) ?? this.start(tenantId, entry);
  }

  /** Drops every tenant (the change channel reconnected: changes may have been missed). */
  clear(): void {
    this.entries.clear();
    this.inFlight.clear();
  }

  invalidate(tenantId: string): void {
    this.entries.delete(tenantId);
    // A refresh started before the sync must not store what it read.
    this.inFlight.delete(tenantId);
  }

  private start(tenantId: string, entry: Entry | undefined): Promise<CatalogSnapshot> {
    const pending: Promise<CatalogSnapshot> = this.refresh(tenantId, entry, () => this.inFlight.get(tenantId) === pending).finally(() => {
      if (this.inFlight.get(tenantId) === pending) this.inFlight.delete(tenantId);
    });
    this.inFlight.set(tenantId, pending);
    return pending;
  }

  private async refresh(tenantId: string, entry: Entry | undefined, current: () => boolean): Promise<CatalogSnapshot> {
    const checkedAt = this.now();
    try {
      if (entry) {
        if ((await this.source.version(tenantId)) === entry.snapshot.version) {
          if (current()) entry.checkedAt = checkedAt;
          return entry.snapshot;
        }
      }
      const snapshot = await this.source.snapshot(tenantId);
      if (current()) this.entries.set(tenantId, { snapshot, checkedAt });
      return snapshot;
    } catch (err) {
      throw asDependencyError(err);
    }
  }
}
