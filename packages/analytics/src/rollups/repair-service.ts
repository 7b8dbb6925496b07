import { analyticsErrors } from '../errors.ts';
import { repairRollups, type SqlRunner } from './repair.ts';
import type { RepairLock } from './repair-lock.ts';

export interface RollupRepairDeps {
  /** ClickHouse as the repair reads and writes it (clickhouse-runner.ts). */
  runner: SqlRunner;
  database: string;
  lock: RepairLock;
}

/**
 * Runs `repairRollups` for one tenant, one run at a time per tenant across
 * every API process: two overlapping runs would both insert the same
 * correction (the SummingMergeTree adds corrections), so a second one is
 * refused with 409 while the first holds the lock.
 */
export class RollupRepairService {
  constructor(private readonly deps: RollupRepairDeps) {}

  async repair(tenantId: string, from: Date, to: Date): Promise<number> {
    const token = await this.deps.lock.acquire(tenantId);
    if (token === null) {
      throw analyticsErrors.repair_in_progress('a rollup repair of this tenant is already running');
    }
    try {
      return await repairRollups(this.deps.runner, this.deps.database, tenantId, from, to);
    } finally {
      await this.deps.lock.release(tenantId, token);
    }
  }
}
