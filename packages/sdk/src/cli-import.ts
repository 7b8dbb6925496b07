/**
 * tally import ./usage.ndjson [--mode report|apply] [--chunk-lines N] [--json]
 *
 * Streams the file to POST /v1/imports (gzip when it ends in .gz, CSV when
 * it ends in .csv or .csv.gz), then follows GET /v1/imports/:id with a
 * progress line (rows, rate, time left) until it ends, and prints a summary.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import type { ImportStatus } from '@tally/contracts';

const USAGE = `usage: tally import <file.ndjson|file.csv[.gz]> [--mode report|apply] [--chunk-lines N] [--api-key KEY] [--api-url URL] [--json]`;
const FINAL = new Set(['completed', 'failed', 'cancelled', 'reverted']);

export interface ImportCliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Rewrites the progress line (a TTY); undefined prints a line now and then instead. */
  progress?: (line: string) => void;
  pollMs?: number;
}

const human = (n: number) => n.toLocaleString('en-US');

function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** One progress line: a bar over chunks, rows, rate and time left (estimated from chunks done). */
export function progressLine(s: Pick<ImportStatus, 'state' | 'chunksDone' | 'chunksTotal' | 'rowsRead' | 'rate'>, width = 24): string {
  const total = s.chunksTotal ?? 0;
  const ratio = total ? Math.min(1, s.chunksDone / total) : 0;
  const filled = Math.round(ratio * width);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  const estimatedRows = s.chunksDone ? (s.rowsRead / s.chunksDone) * total : 0;
  const left = s.rate > 0 && estimatedRows ? (estimatedRows - s.rowsRead) / s.rate : Number.NaN;
  return `${bar} ${String(Math.round(ratio * 100)).padStart(3)}%  ${human(s.rowsRead)} rows  ${human(s.rate)} rows/s  ${s.state === 'completed' ? 'done' : `${duration(left)} left`}`;
}

export function summary(s: ImportStatus): string {
  return [
    `import ${s.id}: ${s.state} (${s.mode}, ${s.format})`,
    `  rows read  ${human(s.rowsRead)}`,
    `  accepted   ${human(s.accepted)}`,
    `  duplicates ${human(s.duplicates)}`,
    `  rejected   ${human(s.rejected)}${s.rejected ? `  (GET /v1/imports/${s.id}/rejected)` : ''}`,
    `  flagged    ${human(s.flagged)}`,
    `  ${human(s.bytes)} bytes, ${human(s.rate)} rows/s${s.error ? `\n  error: ${s.error}` : ''}`,
  ].join('\n');
}

interface Options {
  file: string;
  mode: 'report' | 'apply';
  chunkLines?: number;
  apiKey: string;
  apiUrl: string;
  json: boolean;
}

function parse(argv: string[], env: NodeJS.ProcessEnv): Options | string {
  let file: string | undefined;
  let mode = 'report';
  let chunkLines: number | undefined;
  let apiKey = env.TALLY_API_KEY;
  let apiUrl = env.TALLY_API_URL ?? 'http://127.0.0.1:3000';
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--mode') mode = argv[++i] ?? '';
    else if (a === '--chunk-lines') chunkLines = Number(argv[++i]);
    else if (a === '--api-key') apiKey = argv[++i];
    else if (a === '--api-url') apiUrl = argv[++i] ?? apiUrl;
    else if (a === '--json') json = true;
    else if (!file) file = a;
    else return USAGE;
  }
  if (!file || (mode !== 'report' && mode !== 'apply')) return USAGE;
  if (!apiKey) return 'tally: set TALLY_API_KEY (or pass --api-key)';
  return { file, mode, chunkLines, apiKey, apiUrl: apiUrl.replace(/\/+$/, ''), json };
}

export async function importMain(argv: string[], env: NodeJS.ProcessEnv, io: ImportCliIo): Promise<number> {
  const o = parse(argv, env);
  if (typeof o === 'string') {
    io.err(o);
    return 2;
  }
  const headers = { Authorization: `Bearer ${o.apiKey}` };
  try {
    const size = (await stat(o.file)).size;
    const gz = /\.gz$/i.test(o.file);
    let sent = 0;
    let lastShown = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        sent += chunk.length;
        const now = Date.now();
        if (now - lastShown > 250 || sent === size) {
          lastShown = now;
          const line = `uploading ${Math.round((sent / Math.max(1, size)) * 100)}%  ${human(sent)} / ${human(size)} bytes`;
          if (io.progress) io.progress(line);
        }
        done(null, chunk);
      },
    });
    const query = new URLSearchParams({ mode: o.mode, ...(o.chunkLines ? { chunkLines: String(o.chunkLines) } : {}) });
    const res = await fetch(`${o.apiUrl}/v1/imports?${query}`, {
      method: 'POST',
      headers: {
        ...headers,
        'Content-Type': /\.csv(\.gz)?$/i.test(o.file) ? 'text/csv' : 'application/x-ndjson',
        ...(gz ? { 'Content-Encoding': 'gzip' } : {}),
      },
      body: Readable.toWeb(createReadStream(o.file).pipe(counter)) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    const created = (await res.json()) as ImportStatus & { error?: { code: string; message: string } };
    if (res.status !== 202) {
      io.err(`tally: ${created.error?.code ?? res.status}: ${created.error?.message ?? 'import refused'}`);
      return 1;
    }
    let status: ImportStatus = created;
    let lastPrinted = 0;
    while (!FINAL.has(status.state)) {
      await new Promise((r) => setTimeout(r, io.pollMs ?? 500));
      const r = await fetch(`${o.apiUrl}/v1/imports/${status.id}`, { headers });
      if (r.status !== 200) throw new Error(`GET /v1/imports/${status.id}: ${r.status}`);
      status = (await r.json()) as ImportStatus;
      if (io.progress) io.progress(progressLine(status));
      else if (Date.now() - lastPrinted > 5000) {
        lastPrinted = Date.now();
        io.err(progressLine(status));
      }
    }
    if (io.progress) io.progress(progressLine(status));
    io.out(o.json ? JSON.stringify(status, null, 2) : summary(status));
    return status.state === 'completed' ? 0 : 1;
  } catch (e) {
    io.err(`tally: ${(e as Error).message}`);
    return 1;
  }
}
