import type { CatalogSnapshot, SyncInput } from '@tally/core';
import { CatalogCache, type CatalogCacheOptions } from './catalog-cache.ts';
import type { CatalogStore } from './catalog-repo.ts';
import type { SyncReport } from './sync.ts';
import { noChangeBus, type ChangeBus } from '../changes.ts';

export interface SyncOptions {
  /** Compute the report inside a transaction that is rolled back. */
  dryRun?: boolean;
}

/** The catalog of each tenant: reads through the in-process cache, writes through sync. */
export class CatalogService {
  readonly cache: CatalogCache;

  private readonly changes: ChangeBus;

  constructor(private readonly store: CatalogStore, options: CatalogCacheOptions & { changes?: ChangeBus } = {}) {
    this.cache = new CatalogCache(store, options);
    this.changes = options.changes ?? noChangeBus;
    this.changes.subscribe((c) => {
      if (c.kind === 'catalog') this.cache.invalidate(c.tenantId);
      else if (c.kind === 'reset') this.cache.clear();
    });
  }

  /** The tenant's catalog: fresh after a sync in any process (told through the ChangeBus). */
  snapshot(tenantId: string): Promise<CatalogSnapshot> {
    return this.cache.get(tenantId);
  }

  /** POST /v1/sync: one transaction; nothing is written when any reference is wrong. */
  async sync(tenantId: string, input: SyncInput, options: SyncOptions = {}): Promise<SyncReport & { dryRun: boolean }> {
    const dryRun = options.dryRun ?? false;
    const result = await this.store.sync(tenantId, input, dryRun);
    // after the commit: this process drops it at once, and the answer leaves only once every other process has been told
    if (!dryRun && result.changed) {
      this.cache.invalidate(tenantId);
      await this.changes.publish({ kind: 'catalog', tenantId }).catch(() => {});
    }
    return { ...result, dryRun };
  }
}
