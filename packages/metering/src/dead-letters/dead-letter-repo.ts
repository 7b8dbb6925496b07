import { createHash } from 'node:crypto';
import { asDependencyError, withTransaction, type Pool, type Queryable } from '@tally/postgres';

export interface DeadLetterRecord {
  id: string;
  seq: bigint;
  tenantId: string;
  table: string;
  rowText: string;
  reason: string;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  replayedAt: Date | null;
}

export interface NewDeadLetter {
  tenantId: string;
  table: string;
  /** The row as JSON.stringify wrote it. */
  rowText: string;
  reason: string;
}

export type DeadLetterState = 'pending' | 'replayed' | 'all';

interface DeadLetterRow {
  id: string;
  seq: bigint;
  tenant_id: string;
  table_name: string;
  row_text: string;
  reason: string;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  replayed_at: Date | null;
}

const toRecord = (r: DeadLetterRow): DeadLetterRecord => ({
  id: r.id,
  seq: r.seq,
  tenantId: r.tenant_id,
  table: r.table_name,
  rowText: r.row_text,
  reason: r.reason,
  attempts: r.attempts,
  lastError: r.last_error,
  createdAt: r.created_at,
  replayedAt: r.replayed_at,
});

const COLUMNS = 'id, seq, tenant_id, table_name, row_text, reason, attempts, last_error, created_at, replayed_at';

const STATE_FILTER: Record<DeadLetterState, string> = {
  pending: 'AND replayed_at IS NULL',
  replayed: 'AND replayed_at IS NOT NULL',
  all: '',
};

/** One transaction's view of usage_dead_letters: a letter read with `lock` stays locked until it ends. */
export interface DeadLetterTx {
  lock(tenantId: string, id: string): Promise<DeadLetterRecord | null>;
  markReplayed(tenantId: string, id: string): Promise<DeadLetterRecord>;
  markFailed(tenantId: string, id: string, error: string): Promise<DeadLetterRecord>;
}

/** usage_dead_letters (Postgres migration 0008); every read and update takes the tenant. */
export class DeadLetterRepo {
  constructor(private readonly pool: Pool) {}

  /** Runs `work` in one transaction (committed when it resolves, rolled back when it throws). */
  inTransaction<T>(work: (tx: DeadLetterTx) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, (q) =>
      work({
        lock: (tenantId, id) => this.lock(q, tenantId, id),
        markReplayed: (tenantId, id) => this.markReplayed(q, tenantId, id),
        markFailed: (tenantId, id, error) => this.markFailed(q, tenantId, id, error),
      }),
    );
  }

  /**
   * Stores rows; a row already stored for the same tenant and table is kept once. Returns how many were new.
   * `knownTenantsOnly`: letters of a tenant that does not exist are skipped instead of failing the insert
   * (a payload that failed validation may name any tenant).
   */
  async add(letters: NewDeadLetter[], options: { knownTenantsOnly?: boolean } = {}): Promise<number> {
    if (letters.length === 0) return 0;
    const known = options.knownTenantsOnly ? 'WHERE EXISTS (SELECT 1 FROM tenants t WHERE t.id = l.tenant_id)' : '';
    try {
      const { rowCount } = await this.pool.query(
        `INSERT INTO usage_dead_letters (tenant_id, table_name, row_text, row_sha256, reason)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::text[]) AS l(tenant_id, table_name, row_text, row_sha256, reason)
         ${known}
         ON CONFLICT (tenant_id, table_name, row_sha256) DO NOTHING`,
        [
          letters.map((l) => l.tenantId),
          letters.map((l) => l.table),
          letters.map((l) => l.rowText),
          letters.map((l) => createHash('sha256').update(l.rowText).digest()),
          letters.map((l) => l.reason),
        ],
      );
      return rowCount ?? 0;
    } catch (err) {
      throw asDependencyError(err);
    }
  }

  /** Newest first; `beforeSeq` continues a page. Reads one more than `limit` so the caller knows whether more follow. */
  async list(tenantId: string, limit: number, beforeSeq: bigint | null, state: DeadLetterState): Promise<DeadLetterRecord[]> {
    try {
      const { rows } = await this.pool.query<DeadLetterRow>(
        `SELECT ${COLUMNS} FROM usage_dead_letters
         WHERE tenant_id = $1 AND ($2::bigint IS NULL OR seq < $2) ${STATE_FILTER[state]}
         ORDER BY seq DESC LIMIT $3`,
        [tenantId, beforeSeq, limit + 1],
      );
      return rows.map(toRecord);
    } catch (err) {
      throw asDependencyError(err);
    }
  }

  /** The dead letter, locked until the transaction of `tx` ends (one replay at a time). */
  async lock(tx: Queryable, tenantId: string, id: string): Promise<DeadLetterRecord | null> {
    const { rows } = await tx.query<DeadLetterRow>(`SELECT ${COLUMNS} FROM usage_dead_letters WHERE id = $1 AND tenant_id = $2 FOR UPDATE`, [id, tenantId]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async markReplayed(tx: Queryable, tenantId: string, id: string): Promise<DeadLetterRecord> {
    const { rows } = await tx.query<DeadLetterRow>(
      `UPDATE usage_dead_letters SET replayed_at = now(), attempts = attempts + 1
       WHERE id = $1 AND tenant_id = $2 RETURNING ${COLUMNS}`,
      [id, tenantId],
    );
    return toRecord(rows[0]!);
  }

  async markFailed(tx: Queryable, tenantId: string, id: string, error: string): Promise<DeadLetterRecord> {
    const { rows } = await tx.query<DeadLetterRow>(
      `UPDATE usage_dead_letters SET attempts = attempts + 1, last_error = $3 WHERE id = $1 AND tenant_id = $2 RETURNING ${COLUMNS}`,
      [id, tenantId, error],
    );
    return toRecord(rows[0]!);
  }
}

/**
 * The BatchingWriter `deadLetter` sink for one table: stores the refused rows
 * as JSON text under the tenant `tenantOf` reads from each row.
 */
export function deadLetterSink<T>(pool: Pool, table: string, tenantOf: (row: T) => string) {
  const repo = new DeadLetterRepo(pool);
  return (rows: T[], reason: string) =>
    repo.add(rows.map((row) => ({ tenantId: tenantOf(row), table, rowText: JSON.stringify(row), reason })));
}
