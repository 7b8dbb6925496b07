import type { CatalogSnapshot } from '@tally/core';
import type { Pool } from '@tally/postgres';
import { CatalogCache, type CatalogCacheOptions } from './catalog-cache.ts';

/** The catalog of each tenant: reads through the in-process cache, writes through sync. */
export class CatalogService {
  readonly cache: CatalogCache;

  constructor(protected readonly pool: Pool, options: CatalogCacheOptions = {}) {
    this.cache = new CatalogCache(pool, options);
  }

  /** The tenant's catalog, at most ~1 s stale across processes, fresh after a sync in this process. */
  snapshot(tenantId: string): Promise<CatalogSnapshot> {
    return this.cache.get(tenantId);
  }
}
