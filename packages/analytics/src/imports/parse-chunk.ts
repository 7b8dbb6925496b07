import { readFile } from 'node:fs/promises';
import { parseCsvLine, parseNdjsonLine, type ImportEvent } from './event-line.ts';
import type { ChunkResult } from './import-store.ts';
import { chunkPath, TOO_LONG, type SpoolManifest } from './spool.ts';

/** A chunk file parsed: its events (first occurrence of an id wins) and the counts parsing alone decides. */
export interface ParsedChunk {
  lines: string[];
  startLine: number;
  events: ImportEvent[];
  /** rowsRead, duplicates within the chunk, rejected lines; accepted and flagged are decided later. */
  result: ChunkResult;
}

// Yield to the event loop every so many lines, so a parse running while an insert is being sent
// (the prefetch of the next chunk) does not hold up the socket writes of that insert.
const YIELD_EVERY = 5_000;

/** Parses one chunk file. Pure function of the file (and the clock, for "timestamp in the future"). */
export async function parseChunk(dir: string, manifest: SpoolManifest, chunk: number): Promise<ParsedChunk> {
  const text = await readFile(chunkPath(dir, chunk), 'utf8');
  const startLine = manifest.chunkStartLines[chunk] ?? 1;
  const now = Date.now();
  const result: ChunkResult = { rowsRead: 0, accepted: 0, duplicates: 0, rejected: 0, flagged: 0, problems: [] };
  const events: ImportEvent[] = [];
  const seen = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise<void>((resolve) => setImmediate(resolve));
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const lineNo = startLine + i;
    result.rowsRead++;
    if (line === TOO_LONG) {
      result.rejected++;
      result.problems.push({ line: lineNo, kind: 'rejected', reason: 'line longer than 1 MiB', content: '' });
      continue;
    }
    const parsed = manifest.format === 'csv' ? parseCsvLine(line, manifest.header ?? [], lineNo, now) : parseNdjsonLine(line, lineNo, now);
    if (!parsed.ok) {
      result.rejected++;
      result.problems.push({ line: lineNo, kind: 'rejected', reason: parsed.reason, content: line });
      continue;
    }
    if (seen.has(parsed.event.id)) {
      result.duplicates++;
      continue;
    }
    seen.add(parsed.event.id);
    events.push(parsed.event);
  }
  return { lines, startLine, events, result };
}

/**
 * Parses ahead: while chunk n is being inserted (ClickHouse busy, this
 * process idle), chunk n + 1 is parsed, so the two overlap on a 2-core host.
 * Only parsing is done ahead: the dedup lookup of chunk n + 1 still runs
 * after chunk n is stored, so chunks stay exact against each other. A
 * prefetched parse is only a cache — the job of chunk n + 1 may run in
 * another process, or after a crash, and then parses the file itself.
 */
export class ChunkPrefetcher {
  private readonly pending = new Map<string, Promise<ParsedChunk | null>>();

  constructor(private readonly maxEntries = 2) {}

  start(importId: string, dir: string, manifest: SpoolManifest, chunk: number): void {
    const key = `${importId}:${chunk}`;
    if (this.pending.has(key)) return;
    this.pending.set(key, parseChunk(dir, manifest, chunk).catch(() => null));
    while (this.pending.size > this.maxEntries) this.pending.delete(this.pending.keys().next().value!);
  }

  /** The chunk parsed ahead, or a fresh parse. */
  async take(importId: string, dir: string, manifest: SpoolManifest, chunk: number): Promise<ParsedChunk> {
    const key = `${importId}:${chunk}`;
    const ahead = this.pending.get(key);
    this.pending.delete(key);
    return (await ahead) ?? parseChunk(dir, manifest, chunk);
  }

  /** Forget what was parsed ahead for an import (cancelled, failed, finished). */
  drop(importId: string): void {
    for (const key of [...this.pending.keys()]) if (key.startsWith(`${importId}:`)) this.pending.delete(key);
  }
}
