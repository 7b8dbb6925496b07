import type { CatalogSnapshot } from '@tally/core';
import { asDependencyError, type Pool } from '@tally/postgres';
import { loadSnapshot } from './load-snapshot.ts';

export interface CatalogCacheOptions {
  /** How long a cached snapshot is trusted before its version is checked again. */
  checkEveryMs?: number;
  now?: () => number;
}

interface Entry {
  snapshot: CatalogSnapshot;
  checkedAt: number;
}

/**
 * Per-tenant catalog snapshots held in process. A snapshot is trusted for
 * `checkEveryMs` (1 s); after that one cheap query reads catalog_versions and
 * the snapshot is reloaded only when a sync (in any process) bumped it. So the
 * hot path does at most one tiny Postgres query per tenant per second, and a
 * sync elsewhere is seen within about a second. A sync in this process
 * invalidates at once.
 */
export class CatalogCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<CatalogSnapshot>>();
  private readonly checkEveryMs: number;
  private readonly now: () => number;

  constructor(private readonly pool: Pool, options: CatalogCacheOptions = {}) {
    this.checkEveryMs = options.checkEveryMs ?? 1000;
    this.now = options.now ?? Date.now;
  }

  async get(tenantId: string): Promise<CatalogSnapshot> {
    const entry = this.entries.get(tenantId);
    if (entry && this.now() - entry.checkedAt < this.checkEveryMs) return entry.snapshot;
    // One refresh per tenant at a time; concurrent callers share it.
    let pending = this.inFlight.get(tenantId);
    if (!pending) {
      pending = this.refresh(tenantId, entry).finally(() => this.inFlight.delete(tenantId));
      this.inFlight.set(tenantId, pending);
    }
    return pending;
  }

  invalidate(tenantId: string): void {
    this.entries.delete(tenantId);
  }

  private async refresh(tenantId: string, entry: Entry | undefined): Promise<CatalogSnapshot> {
    const checkedAt = this.now();
    try {
      if (entry) {
        const { rows } = await this.pool.query<{ version: bigint }>('SELECT version FROM catalog_versions WHERE tenant_id = $1', [tenantId]);
        if ((rows[0]?.version ?? 0n) === entry.snapshot.version) {
          entry.checkedAt = checkedAt;
          return entry.snapshot;
        }
      }
      const snapshot = await this.loadConsistent(tenantId);
      this.entries.set(tenantId, { snapshot, checkedAt });
      return snapshot;
    } catch (err) {
      throw asDependencyError(err);
    }
  }

  /** One REPEATABLE READ transaction, so the version and the rows it describes come from the same instant. */
  private async loadConsistent(tenantId: string): Promise<CatalogSnapshot> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const snapshot = await loadSnapshot(client, tenantId);
      await client.query('COMMIT');
      return snapshot;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }
}
