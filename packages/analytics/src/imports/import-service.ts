import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Queue } from 'bullmq';
import { isAppError } from '@tally/runtime';
import type { ImportMode, ImportStatus, RejectedRow } from '@tally/contracts';
import type { ImportStore } from './import-store.ts';
import { enqueueImportJob } from './import.queue.ts';
import { spoolUpload } from './spool.ts';
import { discardRest, spoolBytes } from './spool-disk.ts';
import { DEFAULT_SPOOL_LIMITS, type SpoolLimits } from './spool-limits.ts';
import { analyticsErrors } from '../errors.ts';

export interface ImportServiceOptions {
  /** The imports tables (Postgres). */
  store: ImportStore;
  queue: Queue;
  dataDir: (importId: string) => string;
  linesPerChunk?: number;
  /** Upload size, gzip ratio and per-tenant disk quota (defaults: DEFAULT_SPOOL_LIMITS). */
  limits?: SpoolLimits;
}

export const DEFAULT_LINES_PER_CHUNK = 100_000;

/** The API side of imports: spool the upload, enqueue its first chunk, report, cancel, revert. */
export class ImportService {
  readonly store: ImportStore;

  constructor(private readonly o: ImportServiceOptions) {
    this.store = o.store;
  }

  /**
   * Streams `body` to chunk files, then queues chunk 0 (each chunk queues the
   * next). The import row exists from the moment the format is known, in
   * state 'uploading'. A refused body (not NDJSON/CSV, a limit passed: 4xx)
   * leaves nothing behind, row included; an upload that breaks off (client
   * gone, a store down) leaves a 'failed' row and no files.
   */
  async create(tenantId: string, mode: ImportMode, body: Readable, gzip: boolean, linesPerChunk?: number): Promise<ImportStatus> {
    const id = randomUUID();
    const dir = this.o.dataDir(id);
    const limits = this.o.limits ?? DEFAULT_SPOOL_LIMITS;
    let created = false;
    try {
      const { manifest } = await spoolUpload(body, dir, {
        gzip,
        linesPerChunk: linesPerChunk ?? this.o.linesPerChunk ?? DEFAULT_LINES_PER_CHUNK,
        limits,
        quota: { limitBytes: limits.tenantQuotaBytes, otherBytes: () => this.otherSpoolBytes(tenantId, id) },
        onFormat: async (format) => {
          await this.store.create(id, tenantId, mode, format);
          created = true;
        },
      });
      await this.store.uploaded(id, tenantId, BigInt(manifest.bytes), manifest.chunkStartLines.length);
      if (manifest.chunkStartLines.length === 0) {
        await this.store.transition(id, tenantId, ['queued'], 'completed');
      } else {
        await enqueueImportJob(this.o.queue, { kind: 'chunk', importId: id, tenantId, chunk: 0 });
      }
    } catch (err) {
      discardRest(body);
      await rm(dir, { recursive: true, force: true });
      if (created && isAppError(err) && err.status < 500) await this.store.discard(id, tenantId);
      else if (created) await this.store.transition(id, tenantId, ['uploading'], 'failed', `upload failed: ${(err as Error).message}`);
      throw err;
    }
    return (await this.status(id, tenantId))!;
  }

  /** Bytes on disk of the tenant's other unfinished imports (the spool quota counts them with this upload). */
  private async otherSpoolBytes(tenantId: string, self: string): Promise<number> {
    let total = 0;
    for (const id of await this.store.spooledIds(tenantId)) if (id !== self) total += await spoolBytes(this.o.dataDir(id));
    return total;
  }

  async status(id: string, tenantId: string): Promise<ImportStatus | null> {
    return this.store.status(id, tenantId);
  }

  /** A page of the tenant's imports, newest first (ImportStore.list). */
  list(tenantId: string, opts: { limit: number; after?: readonly [string, string] | undefined }): Promise<Array<{ status: ImportStatus; createdKey: string }>> {
    return this.store.list(tenantId, opts);
  }

  async mustStatus(id: string, tenantId: string): Promise<ImportStatus> {
    const s = await this.status(id, tenantId);
    if (!s) throw analyticsErrors.import_not_found(`no import ${id}`);
    return s;
  }

  /** Stops an import between chunks; rows of finished chunks stay (revert removes them). */
  async cancel(id: string, tenantId: string): Promise<ImportStatus> {
    const s = await this.mustStatus(id, tenantId);
    if (!(await this.store.transition(id, tenantId, ['uploading', 'queued', 'running'], 'cancelled'))) {
      throw analyticsErrors.import_not_cancellable(`import is ${s.state}`);
    }
    return this.mustStatus(id, tenantId);
  }

  async revert(id: string, tenantId: string): Promise<ImportStatus> {
    const s = await this.mustStatus(id, tenantId);
    if (s.state === 'reverted') return s;
    // Already reverting: the revert job is enqueued again (same job id, so a no-op while it exists). A process that
    // died between the transition and the enqueue, or a Redis that lost the job, left it with no job at all, and
    // the caller's retry is what puts it back; the revert's steps are idempotent, so a second run converges.
    if (s.state === 'reverting') {
      await enqueueImportJob(this.o.queue, { kind: 'revert', importId: id, tenantId });
      return this.mustStatus(id, tenantId);
    }
    if (!(await this.store.transition(id, tenantId, ['completed', 'cancelled', 'failed'], 'reverting'))) {
      throw analyticsErrors.import_not_revertable(`import is ${s.state}; cancel it first`);
    }
    await enqueueImportJob(this.o.queue, { kind: 'revert', importId: id, tenantId });
    return this.mustStatus(id, tenantId);
  }

  problems(id: string, tenantId: string, kind: 'rejected' | 'flagged', afterLine: number, limit: number): Promise<RejectedRow[]> {
    return this.store.problems(id, tenantId, kind, afterLine, limit);
  }
}
