import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, type Readable, type Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { counter, gauge, isAppError } from '@tally/runtime';
import { ChunkWriter } from './chunk-writer.ts';
import { detectFormat, type ImportFormat } from './event-line.ts';
import { DEFAULT_SPOOL_LIMITS, QuotaGuard, UploadMeter, type SpoolLimits, type SpoolQuota } from './spool-limits.ts';
import { analyticsErrors } from '../errors.ts';

export { chunkPath } from './chunk-writer.ts';

/** Written next to the chunk files once the upload is complete. */
export interface SpoolManifest {
  format: ImportFormat;
  header: string[] | null;
  /** 1-based file line number of the first line of each chunk. */
  chunkStartLines: number[];
  /** Bytes of the body as sent (compressed, for gzip). */
  bytes: number;
  lines: number;
}

/** What one upload cost: the limits are checked against these as it is read. */
export interface SpoolStats {
  compressedBytes: number;
  decompressedBytes: number;
  /** Bytes of chunk files written. */
  bytesOnDisk: number;
  /** At most this many characters were held in memory at once (partial line, read piece, write buffer). */
  peakBufferedChars: number;
}

export interface SpoolOptions {
  gzip: boolean;
  linesPerChunk: number;
  limits?: SpoolLimits;
  /** The tenant's disk quota; none means no quota (tests of the spool alone). */
  quota?: SpoolQuota;
  /** Runs once the format is known (the import row is created then). */
  onFormat?: (format: ImportFormat) => Promise<void>;
}

export const TOO_LONG = '\u0000line-too-long';
const MAX_LINE_CHARS = 1 << 20;

export const manifestPath = (dir: string) => path.join(dir, 'manifest.json');

const peakBuffer = gauge('tally_import_spool_peak_buffer_chars', 'Largest number of characters one import upload held in memory at once, over this process');
let processPeak = 0;
const limitHits = counter('tally_import_limit_exceeded_total', 'Import uploads refused with 413, by the limit they passed', ['limit']);

/**
 * Streams an upload to disk as chunk files, with bounded memory: a partial
 * line of at most 1 MiB (longer lines are replaced by TOO_LONG), the piece
 * just read and a 64 KiB write buffer (ChunkWriter). The decompressed size,
 * the gzip ratio and the tenant's disk quota are checked as bytes arrive;
 * passing one is a 413 naming the limit. The format is decided on the first
 * non-empty line; a body that is neither NDJSON nor CSV fails at once (400).
 * On any error the open chunk file is closed; the caller removes `dir`.
 * The body is unpiped, never destroyed: the caller may drain it so the
 * client reads the answer.
 */
export async function spoolUpload(body: Readable, dir: string, options: SpoolOptions): Promise<{ manifest: SpoolManifest; stats: SpoolStats }> {
  const meter = new UploadMeter(options.limits ?? DEFAULT_SPOOL_LIMITS, options.gzip);
  const quota = options.quota ? new QuotaGuard(options.quota) : null;
  await quota?.check(0);
  await mkdir(dir, { recursive: true });
  const writer = new ChunkWriter(dir, options.linesPerChunk, async (written) => quota?.check(written));

  const source: Transform = options.gzip ? createGunzip() : new PassThrough();
  const countCompressed = (b: Buffer) => meter.addCompressed(b.length);
  const forwardError = (err: Error) => source.destroy(err);
  body.on('data', countCompressed);
  body.on('error', forwardError);
  body.pipe(source);

  let format: { format: ImportFormat; header?: string[] } | null = null;
  let lineNo = 0;
  let pending = '';
  let skipping = false;
  let peakRead = 0;

  const onLine = async (raw: string) => {
    lineNo++;
    // a line may also be long within one piece read (a client sending large pieces)
    const text = raw.length > MAX_LINE_CHARS + 1 ? TOO_LONG : raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!format) {
      if (text.trim() === '') return;
      format = detectFormat(text);
      if (!format) throw analyticsErrors.unsupported_format('the file is neither NDJSON (one JSON object per line) nor CSV with a header naming customer and feature');
      await options.onFormat?.(format.format);
      if (format.format === 'csv') return; // the header is kept in the manifest
    }
    await writer.add(text, lineNo);
  };
  const onText = async (piece: string) => {
    peakRead = Math.max(peakRead, piece.length + pending.length);
    let start = 0;
    for (;;) {
      const nl = piece.indexOf('\n', start);
      if (nl < 0) break;
      const line = skipping ? TOO_LONG : pending + piece.slice(start, nl);
      pending = '';
      skipping = false;
      await onLine(line);
      start = nl + 1;
    }
    if (!skipping) {
      pending += piece.slice(start);
      if (pending.length > MAX_LINE_CHARS) {
        pending = '';
        skipping = true;
      }
    }
  };

  const decoder = new StringDecoder('utf8');
  const stats = (): SpoolStats => ({
    compressedBytes: meter.compressedBytes,
    decompressedBytes: meter.decompressedBytes,
    bytesOnDisk: writer.bytesWritten,
    peakBufferedChars: peakRead + writer.peakBufferChars,
  });
  try {
    for await (const buf of source as AsyncIterable<Buffer>) {
      meter.addDecompressed(buf.length);
      await onText(decoder.write(buf));
    }
    await onText(decoder.end());
    if (skipping || pending !== '') await onLine(skipping ? TOO_LONG : pending);
    if (!format) throw analyticsErrors.unsupported_format('the file is empty');
    await writer.finish();
  } catch (err) {
    await writer.abort();
    const limit = isAppError(err) ? err.details?.limit : undefined;
    if (typeof limit === 'string') limitHits.inc({ limit });
    if ((err as { code?: string }).code === 'Z_DATA_ERROR') throw analyticsErrors.unsupported_format('the body is not valid gzip');
    throw err;
  } finally {
    body.off('data', countCompressed);
    body.off('error', forwardError);
    body.unpipe(source);
    source.destroy();
    processPeak = Math.max(processPeak, stats().peakBufferedChars);
    peakBuffer.set(processPeak);
  }
  const manifest: SpoolManifest = {
    format: (format as { format: ImportFormat }).format,
    header: (format as { header?: string[] }).header ?? null,
    chunkStartLines: writer.chunkStartLines,
    bytes: meter.compressedBytes,
    lines: lineNo,
  };
  await writeFile(manifestPath(dir), JSON.stringify(manifest));
  return { manifest, stats: stats() };
}

/** Where an import's chunk files live: one folder per import under `root` (shared by API and workers). */
export const importDirs =
  (root: string) =>
  (importId: string): string =>
    path.join(root, importId);
