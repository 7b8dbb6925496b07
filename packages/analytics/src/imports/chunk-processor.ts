import { readFile, rm } from 'node:fs/promises';
import type { Queue } from 'bullmq';
import type { CatalogSnapshot } from '@tally/core';
import type { Logger } from '@tally/runtime';
import type { ImportEvent } from './event-line.ts';
import type { ChunkResult, ImportRecord, ImportStore } from './import-store.ts';
import { enqueueImportJob } from './import.queue.ts';
import { reportRow } from './raw-rows.ts';
import { ChunkPrefetcher } from './parse-chunk.ts';
import { assertApplyRowsStored, creditBack } from './credit-back.ts';
import type { ImportEvents } from './import-events.ts';
import type { ImportLedger } from './import-ledger.ts';
import { manifestPath, type SpoolManifest } from './spool.ts';

/** Sends apply-mode events into the metering pipeline (Kafka, source 'import'), so debits follow live rules. */
export interface ApplySink {
  apply(tenantId: string, importId: string, events: ImportEvent[]): Promise<void>;
}

export interface ChunkProcessorDeps {
  store: ImportStore;
  /** Chunk markers, id claims and customer state (RedisImportLedger). */
  ledger: ImportLedger;
  /** Runs `fn` holding the tenant's report-import lock (withReportImportLock over the pool). */
  reportLock: <T>(tenantId: string, fn: () => Promise<T>) => Promise<T>;
  /** The event store (ClickHouseImportEvents). */
  events: ImportEvents;
  queue: Queue;
  dataDir: (importId: string) => string;
  catalog: (tenantId: string) => Promise<CatalogSnapshot>;
  applySink: ApplySink | null;
  logger: Logger;
}

const ACTIVE: ImportRecord['state'][] = ['queued', 'running'];
export const MAX_FLAGGED_DETAILS = 10_000;

export class ImportProcessor {
  private readonly prefetch = new ChunkPrefetcher();

  constructor(private readonly d: ChunkProcessorDeps) {}

  /**
   * One chunk, then enqueue the next: chunks of an import run one after
   * another, so an id repeated across chunks of the same file is seen as a
   * duplicate by the later chunk's lookup. A crash re-runs the unfinished
   * chunk only (finished ones are recorded in import_chunks).
   */
  async processChunk(importId: string, tenantId: string, chunk: number): Promise<void> {
    const rec = await this.d.store.get(importId, tenantId);
    if (rec?.state === 'cancelled') return this.cleanUp(importId);
    if (!rec || !ACTIVE.includes(rec.state) || rec.chunksTotal === null) return; // failed, reverted or gone
    await this.d.store.transition(importId, tenantId, ['queued'], 'running');
    if (!(await this.d.store.chunkDone(importId, chunk))) {
      const dir = this.d.dataDir(importId);
      const manifest = JSON.parse(await readFile(manifestPath(dir), 'utf8')) as SpoolManifest;
      const result = await this.runChunk(rec, manifest, chunk);
      await this.d.store.finishChunk(importId, chunk, result);
    }
    if (chunk + 1 < rec.chunksTotal) {
      await enqueueImportJob(this.d.queue, { kind: 'chunk', importId, tenantId, chunk: chunk + 1 });
      return;
    }
    if (await this.d.store.transition(importId, tenantId, ['running'], 'completed')) await this.cleanUp(importId);
  }

  /**
   * Revert: for apply imports first wait until the pipeline stored every
   * event, then mark the rows reverted, then (apply) drop the customers'
   * Redis state so balances are rebuilt without them. Each step is
   * idempotent, so a retried job converges.
   */
  async revert(importId: string, tenantId: string): Promise<void> {
    const rec = await this.d.store.get(importId, tenantId);
    if (!rec || rec.state !== 'reverting') return;
    if (rec.mode === 'apply') {
      const status = await this.d.store.status(importId, tenantId);
      await assertApplyRowsStored(this.d.events, tenantId, importId, status?.accepted ?? 0);
    }
    await this.d.events.revert(tenantId, importId);
    if (rec.mode === 'apply') await creditBack(this.d.events, this.d.ledger, tenantId, importId);
    await this.d.store.transition(importId, tenantId, ['reverting'], 'reverted');
  }

  async cleanUp(importId: string): Promise<void> {
    this.prefetch.drop(importId);
    await rm(this.d.dataDir(importId), { recursive: true, force: true });
    await this.d.events.dropStaged(importId).catch((err) =>
      this.d.logger.warn({ err, importId }, 'could not drop staged import ids'),
    );
  }

  private async runChunk(rec: ImportRecord, manifest: SpoolManifest, chunk: number): Promise<ChunkResult> {
    const dir = this.d.dataDir(rec.id);
    // 1. Parse (or take the parse done ahead while the previous chunk was inserted), then
    //    start parsing the next chunk: it overlaps with this chunk's dedup and insert.
    const { lines, startLine, events, result } = await this.prefetch.take(rec.id, dir, manifest, chunk);
    if (rec.chunksTotal !== null && chunk + 1 < rec.chunksTotal) this.prefetch.start(rec.id, dir, manifest, chunk + 1);
    const now = Date.now();
    const reject = (line: number, reason: string, content: string) => {
      result.rejected++;
      result.problems.push({ line, kind: 'rejected', reason, content });
    };

    // 2. Catalog: unknown customers or features are kept and flagged in report mode, rejected in apply mode.
    const catalog = await this.d.catalog(rec.tenantId);
    const knownCustomers = await this.knownCustomers(rec.tenantId, events);
    const valid: ImportEvent[] = [];
    for (const e of events) {
      const problem = !catalog.features.has(e.feature)
        ? `unknown feature ${JSON.stringify(e.feature)}`
        : !knownCustomers.has(e.customer)
          ? `unknown customer ${JSON.stringify(e.customer)}`
          : null;
      if (problem && rec.mode === 'apply') {
        reject(e.line, problem, lines[e.line - startLine] ?? '');
        continue;
      }
      if (problem) {
        // Every flagged row is counted; the details of the first ones per chunk are kept
        // (history that predates the catalog may flag every row of a huge file).
        if (result.flagged < MAX_FLAGGED_DETAILS) {
          result.problems.push({ line: e.line, kind: 'flagged', reason: problem, content: lines[e.line - startLine] ?? '' });
        }
        result.flagged++;
      }
      valid.push(e);
    }

    // 3. Dedup and store. Ids this import stored in an earlier attempt of this same chunk (crash
    //    after insert, before the chunk was recorded) count as accepted, not duplicate: the marker
    //    says an earlier attempt got that far.
    const retried = await this.d.ledger.attempted(rec.id, chunk);
    if (rec.mode === 'apply') {
      if (!this.d.applySink) throw new Error('apply imports need the metering pipeline (no apply sink configured)');
      // The metering ledger makes the final per-id decision for apply events, as for live ones.
      const fresh = await this.unstored(rec, valid, retried, result);
      await this.d.ledger.markAttempt(rec.id, chunk);
      await this.d.applySink.apply(rec.tenantId, rec.id, fresh);
      result.accepted += fresh.length;
      return result;
    }
    // Report rows go straight to ClickHouse, where the views roll up every inserted row: the
    // lookup, the claims and the insert are one decision, under the tenant's lock (imports
    // against imports) and through the ledger's applied ids (imports against live traffic).
    await this.d.reportLock(rec.tenantId, async () => {
      const unstored = await this.unstored(rec, valid, retried, result);
      const { mine, taken } = await this.d.ledger.claim(rec.tenantId, `${rec.id}:${chunk}`, unstored);
      result.duplicates += taken;
      // The marker is set before the insert so a crash in between is recognised above.
      await this.d.ledger.markAttempt(rec.id, chunk);
      const ingested = Math.floor(now / 1000);
      await this.d.events.insertReportRows(mine.map((e) => reportRow(rec.tenantId, rec.id, e, catalog, ingested)));
      await this.d.ledger.release(rec.tenantId, mine);
      result.accepted += mine.length;
    });
    return result;
  }

  /**
   * The events ClickHouse does not hold yet (usage_event_ids_v1: live and
   * imports alike); the others are counted in `result` as duplicates, or as
   * accepted when an earlier attempt of this chunk stored them.
   */
  private async unstored(rec: ImportRecord, valid: ImportEvent[], retried: boolean, result: ChunkResult): Promise<ImportEvent[]> {
    const stored = await this.d.events.storedIds(rec.tenantId, rec.id, valid.map((e) => e.id));
    const fresh: ImportEvent[] = [];
    for (const e of valid) {
      const owner = stored.get(e.id);
      if (owner === undefined) fresh.push(e);
      else if (retried && owner === rec.id) result.accepted++;
      else result.duplicates++;
    }
    return fresh;
  }

  private knownCustomers(tenantId: string, events: ImportEvent[]): Promise<Set<string>> {
    return this.d.store.knownCustomers(tenantId, [...new Set(events.map((e) => e.customer))]);
  }
}
