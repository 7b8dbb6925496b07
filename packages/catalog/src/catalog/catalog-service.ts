import type { CatalogSnapshot, SyncInput } from '@tally/core';
import { asDependencyError, type Pool } from '@tally/postgres';
import { CatalogCache, type CatalogCacheOptions } from './catalog-cache.ts';
import { applySync, type SyncReport } from './sync.ts';
import { noChangeBus, type ChangeBus } from '../changes.ts';

export interface SyncOptions {
  /** Compute the report inside a transaction that is rolled back. */
  dryRun?: boolean;
}

/** The catalog of each tenant: reads through the in-process cache, writes through sync. */
export class CatalogService {
  readonly cache: CatalogCache;

  private readonly changes: ChangeBus;

  constructor(private readonly pool: Pool, options: CatalogCacheOptions & { changes?: ChangeBus } = {}) {
    this.cache = new CatalogCache(pool, options);
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
    let client;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw asDependencyError(err);
    }
    try {
      await client.query('BEGIN');
      const result = await applySync(client, tenantId, input);
      await client.query(options.dryRun ? 'ROLLBACK' : 'COMMIT');
      if (!options.dryRun && result.changed) {
        this.cache.invalidate(tenantId);
        // answered only once every other process has been told
        await this.changes.publish({ kind: 'catalog', tenantId }).catch(() => {});
      }
      return { ...result, dryRun: options.dryRun ?? false };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw asDependencyError(err);
    } finally {
      client.release();
    }
  }
}
