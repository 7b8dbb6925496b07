import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { badRequest } from '@tally/runtime';
import { detectFormat, type ImportFormat } from './event-line.ts';

/** Written next to the chunk files once the upload is complete. */
export interface SpoolManifest {
  format: ImportFormat;
  header: string[] | null;
  /** 1-based file line number of the first line of each chunk. */
  chunkStartLines: number[];
  bytes: number;
  lines: number;
}

export const TOO_LONG = '\u0000line-too-long';
const MAX_LINE_CHARS = 1 << 20;

export const chunkPath = (dir: string, chunk: number) => path.join(dir, `chunk-${String(chunk).padStart(6, '0')}.txt`);
export const manifestPath = (dir: string) => path.join(dir, 'manifest.json');

/**
 * Streams an upload to disk as chunk files of `linesPerChunk` lines, never
 * holding more than one chunk in memory. The format is decided on the first
 * non-empty line; a body that is neither NDJSON nor CSV fails at once (400)
 * before the rest is read. `onFormat` runs once the format is known.
 */
export async function spoolUpload(
  body: Readable,
  dir: string,
  options: { gzip: boolean; linesPerChunk: number; onFormat?: (format: ImportFormat) => Promise<void> },
): Promise<SpoolManifest> {
  await mkdir(dir, { recursive: true });
  let bytes = 0;
  body.on('data', (b: Buffer) => {
    bytes += b.length;
  });
  const source: Readable = options.gzip ? body.pipe(createGunzip()) : body;
  if (options.gzip) body.on('error', (err) => source.destroy(err));
  source.setEncoding('utf8');

  let format: { format: ImportFormat; header?: string[] } | null = null;
  let lineNo = 0;
  let pending = '';
  let skipping = false;
  let lines: string[] = [];
  let chunkStart = 1;
  const chunkStartLines: number[] = [];

  const flush = async () => {
    if (lines.length === 0) return;
    chunkStartLines.push(chunkStart);
    await writeFile(chunkPath(dir, chunkStartLines.length - 1), lines.join('\n'));
    lines = [];
  };
  const onLine = async (raw: string) => {
    lineNo++;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!format) {
      if (text.trim() === '') return;
      format = detectFormat(text);
      if (!format) throw badRequest('unsupported_format', 'the file is neither NDJSON (one JSON object per line) nor CSV with a header naming customer and feature');
      await options.onFormat?.(format.format);
      if (format.format === 'csv') {
        chunkStart = lineNo + 1;
        return; // the header is kept in the manifest
      }
    }
    if (lines.length === 0) chunkStart = lineNo;
    lines.push(text);
    if (lines.length >= options.linesPerChunk) await flush();
  };

  try {
    for await (const piece of source as AsyncIterable<string>) {
      let start = 0;
      for (;;) {
        const nl = piece.indexOf('\n', start);
        if (nl < 0) break;
        const part = piece.slice(start, nl);
        await onLine(skipping ? TOO_LONG : pending + part);
        pending = '';
        skipping = false;
        start = nl + 1;
      }
      if (!skipping) {
        pending += piece.slice(start);
        if (pending.length > MAX_LINE_CHARS) {
          pending = '';
          skipping = true;
        }
      }
    }
  } catch (err) {
    if ((err as { code?: string }).code === 'Z_DATA_ERROR') throw badRequest('unsupported_format', 'the body is not valid gzip');
    throw err;
  }
  if (skipping || pending !== '') await onLine(skipping ? TOO_LONG : pending);
  if (!format) throw badRequest('unsupported_format', 'the file is empty');
  await flush();
  const manifest: SpoolManifest = {
    format: (format as { format: ImportFormat }).format,
    header: (format as { header?: string[] }).header ?? null,
    chunkStartLines,
    bytes,
    lines: lineNo,
  };
  await writeFile(manifestPath(dir), JSON.stringify(manifest));
  return manifest;
}

/** Where an import's chunk files live: one folder per import under `root` (shared by API and workers). */
export const importDirs =
  (root: string) =>
  (importId: string): string =>
    path.join(root, importId);
