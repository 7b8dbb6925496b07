import type { CatalogSnapshot, SyncInput } from '@tally/core';
import { withTransaction, type Pool } from '@tally/postgres';
import { loadSnapshot } from './load-snapshot.ts';
import { applySync, type SyncReport } from './sync.ts';

/** What the catalog cache reads: a tenant's catalog version and its snapshot. */
export interface SnapshotSource {
  /** catalog_versions.version (0 before the first sync). */
  version(tenantId: string): Promise<bigint>;
  /** The snapshot, read in one REPEATABLE READ transaction: the version and the rows it describes come from the same instant. */
  snapshot(tenantId: string): Promise<CatalogSnapshot>;
}

export interface CatalogStore extends SnapshotSource {
  /** Applies a sync in one transaction (sync.ts), committed, or rolled back for a dry run; nothing is written when it throws. */
  sync(tenantId: string, input: SyncInput, dryRun: boolean): Promise<SyncReport>;
}

/** The catalog tables in Postgres. */
export class CatalogRepo implements CatalogStore {
  constructor(private readonly pool: Pool) {}

  async version(tenantId: string): Promise<bigint> {
    const { rows } = await this.pool.query<{ version: bigint }>('SELECT version FROM catalog_versions WHERE tenant_id = $1', [tenantId]);
    return rows[0]?.version ?? 0n;
  }

  async snapshot(tenantId: string): Promise<CatalogSnapshot> {
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

  async sync(tenantId: string, input: SyncInput, dryRun: boolean): Promise<SyncReport> {
    return withTransaction(this.pool, (client) => applySync(client, tenantId, input), { commit: !dryRun });
  }
}
