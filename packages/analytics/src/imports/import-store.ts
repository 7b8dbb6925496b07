import type { Pool, PoolClient } from '@tally/postgres';
import { withTransaction } from '@tally/postgres';
import type { ImportMode, ImportState, ImportStatus, RejectedRow } from '@tally/contracts';
import type { ImportFormat } from './event-line.ts';

export interface ImportRecord {
  id: string;
  tenantId: string;
  mode: ImportMode;
  format: ImportFormat;
  state: ImportState;
  bytes: bigint;
  chunksTotal: number | null;
}

export interface ChunkResult {
  rowsRead: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  flagged: number;
  problems: { line: number; kind: 'rejected' | 'flagged'; reason: string; content: string }[];
}

interface ImportRow {
  id: string;
  tenant_id: string;
  mode: ImportMode;
  format: ImportFormat;
  state: ImportState;
  bytes: bigint;
  chunks_total: number | null;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  reverted_at: Date | null;
}

const toRecord = (r: ImportRow): ImportRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  mode: r.mode,
  format: r.format,
  state: r.state,
  bytes: r.bytes,
  chunksTotal: r.chunks_total,
});

/** An imports row with its chunks summed. */
type StatusRow = ImportRow & Record<'chunks_done' | 'rows_read' | 'accepted' | 'duplicates' | 'rejected' | 'flagged', bigint | null>;

function toStatus(r: StatusRow, now: Date): ImportStatus {
  const n = (v: bigint | null | undefined) => Number(v ?? 0n);
  const rowsRead = n(r.rows_read);
  const end = r.finished_at ?? now;
  const seconds = r.started_at ? Math.max(0.001, (end.getTime() - r.started_at.getTime()) / 1000) : 0;
  return {
    success: true,
    id: r.id,
    mode: r.mode,
    format: r.format,
    state: r.state,
    bytes: Number(r.bytes),
    chunksTotal: r.chunks_total,
    chunksDone: n(r.chunks_done),
    rowsRead,
    accepted: n(r.accepted),
    duplicates: n(r.duplicates),
    rejected: n(r.rejected),
    flagged: n(r.flagged),
    rate: seconds ? Math.round(rowsRead / seconds) : 0,
    error: r.error,
    createdAt: r.created_at.toISOString(),
    startedAt: r.started_at?.toISOString() ?? null,
    finishedAt: r.finished_at?.toISOString() ?? null,
    revertedAt: r.reverted_at?.toISOString() ?? null,
  };
}

const MAX_CONTENT = 2000;
/** The rejected line as Postgres text keeps it: a raw NUL byte (the reason the line may be rejected) shown as \\u0000. */
const storableContent = (content: string) => content.slice(0, MAX_CONTENT).replace(/\u0000/g, '\\u0000');

/** Import jobs, their finished chunks and their rejected rows, in Postgres; every query takes the tenant. */
export class ImportStore {
  constructor(private readonly pool: Pool) {}

  async create(id: string, tenantId: string, mode: ImportMode, format: ImportFormat): Promise<void> {
    await this.pool.query(`INSERT INTO imports (id, tenant_id, mode, format, state) VALUES ($1, $2, $3, $4, 'uploading')`, [id, tenantId, mode, format]);
  }

  async uploaded(id: string, tenantId: string, bytes: bigint, chunks: number): Promise<void> {
    await this.pool.query(
      `UPDATE imports SET state = 'queued', bytes = $3, chunks_total = $4 WHERE id = $1 AND tenant_id = $2 AND state = 'uploading'`,
      [id, tenantId, bytes, chunks],
    );
  }

  /** Ids of the tenant's imports whose spool may still be on disk (a cancelled one's until a worker removes it). */
  async spooledIds(tenantId: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM imports WHERE tenant_id = $1 AND state IN ('uploading', 'queued', 'running', 'cancelled')`,
      [tenantId],
    );
    return rows.map((r) => r.id);
  }

  /** Removes an import refused during its upload (bad input changes nothing); it has no chunks yet. */
  async discard(id: string, tenantId: string): Promise<void> {
    await this.pool.query(`DELETE FROM imports WHERE id = $1 AND tenant_id = $2 AND state = 'uploading'`, [id, tenantId]);
  }

  async get(id: string, tenantId: string): Promise<ImportRecord | null> {
    const { rows } = await this.pool.query<ImportRow>(`SELECT * FROM imports WHERE id = $1 AND tenant_id = $2`, [id, tenantId]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Moves to `to` only from one of `from`; returns whether it moved. */
  async transition(id: string, tenantId: string, from: ImportState[], to: ImportState, error: string | null = null): Promise<boolean> {
    const stamp =
      to === 'running' ? ', started_at = coalesce(started_at, now())'
      : to === 'reverted' ? ', reverted_at = now()'
      : ['completed', 'failed', 'cancelled'].includes(to) ? ', finished_at = now()'
      : '';
    const { rowCount } = await this.pool.query(
      `UPDATE imports SET state = $3, error = coalesce($5, error)${stamp} WHERE id = $1 AND tenant_id = $2 AND state = ANY($4)`,
      [id, tenantId, to, from, error],
    );
    return (rowCount ?? 0) > 0;
  }

  /** Which of `customerIds` exist in the tenant (5,000 per query). */
  async knownCustomers(tenantId: string, customerIds: readonly string[]): Promise<Set<string>> {
    const known = new Set<string>();
    for (let i = 0; i < customerIds.length; i += 5000) {
      const { rows } = await this.pool.query<{ id: string }>(`SELECT id FROM customers WHERE tenant_id = $1 AND id = ANY($2)`, [
        tenantId,
        customerIds.slice(i, i + 5000),
      ]);
      for (const r of rows) known.add(r.id);
    }
    return known;
  }

  async chunkDone(id: string, chunk: number): Promise<boolean> {
    const { rows } = await this.pool.query(`SELECT 1 FROM import_chunks WHERE import_id = $1 AND chunk = $2`, [id, chunk]);
    return rows.length > 0;
  }

  /**
   * Records a finished chunk: its counts and problem rows in one transaction,
   * so a chunk that is re-run after a crash is either fully counted or not at all.
   * Returns false when another attempt already recorded it.
   */
  async finishChunk(id: string, chunk: number, r: ChunkResult): Promise<boolean> {
    return withTransaction(this.pool, async (tx: PoolClient) => {
      const inserted = await tx.query(
        `INSERT INTO import_chunks (import_id, chunk, rows_read, accepted, duplicates, rejected, flagged)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
        [id, chunk, r.rowsRead, r.accepted, r.duplicates, r.rejected, r.flagged],
      );
      if (!inserted.rowCount) return false;
      for (let i = 0; i < r.problems.length; i += 1000) {
        const batch = r.problems.slice(i, i + 1000);
        await tx.query(
          `INSERT INTO import_rejections (import_id, line, kind, reason, content)
           SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[]) ON CONFLICT DO NOTHING`,
          [id, batch.map((p) => p.line), batch.map((p) => p.kind), batch.map((p) => p.reason), batch.map((p) => storableContent(p.content))],
        );
      }
      return true;
    });
  }

  async status(id: string, tenantId: string, now = new Date()): Promise<ImportStatus | null> {
    const { rows } = await this.pool.query<StatusRow>(
      `SELECT i.*, count(c.chunk)::bigint AS chunks_done, coalesce(sum(c.rows_read), 0)::bigint AS rows_read,
              coalesce(sum(c.accepted), 0)::bigint AS accepted, coalesce(sum(c.duplicates), 0)::bigint AS duplicates,
              coalesce(sum(c.rejected), 0)::bigint AS rejected, coalesce(sum(c.flagged), 0)::bigint AS flagged
       FROM imports i LEFT JOIN import_chunks c ON c.import_id = i.id
       WHERE i.id = $1 AND i.tenant_id = $2 GROUP BY i.id`,
      [id, tenantId],
    );
    return rows[0] ? toStatus(rows[0], now) : null;
  }

  /**
   * One page of the tenant's imports, newest first, plus one row to tell
   * whether there is more. `after` is the keyset of the last row answered:
   * created_at as UTC text with microseconds (createdKey) and the id. The
   * page is cut first (index on tenant, created_at, id), then each import's
   * chunks are summed.
   */
  async list(
    tenantId: string,
    opts: { limit: number; after?: readonly [string, string] | undefined },
    now = new Date(),
  ): Promise<Array<{ status: ImportStatus; createdKey: string }>> {
    const args: unknown[] = [tenantId];
    let after = '';
    if (opts.after) {
      args.push(opts.after[0], opts.after[1]);
      after = ' AND (i.created_at, i.id) < ($2::timestamptz, $3::uuid)';
    }
    args.push(opts.limit + 1);
    const { rows } = await this.pool.query<StatusRow & { created_key: string }>(
      `SELECT i.*, to_char(i.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key, c.*
         FROM imports i
         CROSS JOIN LATERAL (
           SELECT count(chunk)::bigint AS chunks_done, coalesce(sum(rows_read), 0)::bigint AS rows_read,
                  coalesce(sum(accepted), 0)::bigint AS accepted, coalesce(sum(duplicates), 0)::bigint AS duplicates,
                  coalesce(sum(rejected), 0)::bigint AS rejected, coalesce(sum(flagged), 0)::bigint AS flagged
             FROM import_chunks WHERE import_id = i.id) c
        WHERE i.tenant_id = $1${after}
        ORDER BY i.created_at DESC, i.id DESC LIMIT $${args.length}`,
      args,
    );
    return rows.map((r) => ({ status: toStatus(r, now), createdKey: r.created_key }));
  }

  /** Problem rows in line order, a page at a time (keyset on line). */
  async problems(id: string, tenantId: string, kind: 'rejected' | 'flagged', afterLine: number, limit: number): Promise<RejectedRow[]> {
    const { rows } = await this.pool.query<{ line: bigint; reason: string; content: string }>(
      `SELECT r.line, r.reason, r.content FROM import_rejections r JOIN imports i ON i.id = r.import_id
       WHERE r.import_id = $1 AND i.tenant_id = $2 AND r.kind = $3 AND r.line > $4 ORDER BY r.line LIMIT $5`,
      [id, tenantId, kind, afterLine, limit],
    );
    return rows.map((r) => ({ line: Number(r.line), reason: r.reason, content: r.content }));
  }
}
