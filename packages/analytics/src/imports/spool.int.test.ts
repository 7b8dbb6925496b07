import { mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { isAppError } from '@tally/runtime';
import { ChunkWriter, WRITE_BUFFER_CHARS, chunkPath } from './chunk-writer.ts';
import { TOO_LONG, spoolUpload, type SpoolOptions } from './spool.ts';
import { DEFAULT_SPOOL_LIMITS } from './spool-limits.ts';

const root = await mkdtemp(path.join(os.tmpdir(), 'tally-spool-test-'));
afterAll(() => rm(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => path.join(root, `import-${n++}`);

/** A body streamed in pieces of `pieceBytes`, generated as it is read (the test holds none of it whole). */
function body(lines: (i: number) => string, count: number, pieceBytes = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      let piece = '';
      for (let i = 0; i < count; i++) {
        piece += `${lines(i)}\n`;
        if (piece.length >= pieceBytes) {
          yield Buffer.from(piece);
          piece = '';
        }
      }
      if (piece) yield Buffer.from(piece);
    })(),
    { objectMode: false },
  );
}

const event = (i: number) => JSON.stringify({ id: `e${i}`, customer: `c${i % 97}`, feature: 'gpt-4', value: i % 7, timestamp: 1790000000000 + i });

/** Every line of every chunk, in order, as the workers will read them. */
async function chunkLines(dir: string, chunks: number): Promise<string[]> {
  let out: string[] = [];
  for (let c = 0; c < chunks; c++) out = out.concat((await readFile(chunkPath(dir, c), 'utf8')).split('\n'));
  return out;
}

async function refused(p: Promise<unknown>): Promise<{ status: number; limit: unknown; message: string }> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!isAppError(err)) throw new Error(`expected an AppError, got ${String(err)}`);
  return { status: err.status, limit: err.details?.limit, message: err.message };
}

const opts = (o: Partial<SpoolOptions> = {}): SpoolOptions => ({ gzip: false, linesPerChunk: 100_000, ...o });

describe('spoolUpload', () => {
  it('streams a 28 MB upload held as one chunk while keeping at most a few write buffers in memory', async () => {
    const count = 300_000;
    const dir = freshDir();
    const { manifest, stats } = await spoolUpload(body(event, count), dir, opts({ linesPerChunk: 1_000_000 }));
    expect(manifest.chunkStartLines).toEqual([1]);
    expect(stats.decompressedBytes).toBeGreaterThan(25_000_000);
    expect(stats.bytesOnDisk).toBe(stats.decompressedBytes - 1); // every byte but the last newline
    // the old spool held the whole chunk (28 MB) as an array of lines, then as one joined string
    expect(stats.peakBufferedChars).toBeLessThan(4 * WRITE_BUFFER_CHARS);
    const lines = await chunkLines(dir, 1);
    expect(lines).toHaveLength(count);
    expect(lines[0]).toBe(event(0));
    expect(lines[count - 1]).toBe(event(count - 1));
  });

  it('keeps the chunk layout: header out, blank lines numbered, chunk starts by file line, long lines marked', async () => {
    const long = 'x'.repeat((1 << 20) + 5);
    const text = ['', 'customer,feature,timestamp', 'c1,f,1', '', 'c2,f,2', long, 'c3,f,3', 'c4,f,4'].join('\r\n');
    const dir = freshDir();
    const { manifest } = await spoolUpload(Readable.from([Buffer.from(text)]), dir, opts({ linesPerChunk: 2 }));
    expect(manifest).toMatchObject({ format: 'csv', header: ['customer', 'feature', 'timestamp'], lines: 8, chunkStartLines: [3, 5, 7] });
    expect(await chunkLines(dir, 3)).toEqual(['c1,f,1', '', 'c2,f,2', TOO_LONG, 'c3,f,3', 'c4,f,4']);
  });

  it('refuses a gzip bomb by its ratio (413 naming IMPORT_MAX_COMPRESSION_RATIO) before writing much of it', async () => {
    const bomb = gzipSync(Buffer.from(`${event(1)}\n`.repeat(200_000))); // ~20 MB of one line
    expect(bomb.length).toBeLessThan(200_000);
    const dir = freshDir();
    const r = await refused(spoolUpload(Readable.from([bomb]), dir, opts({ gzip: true })));
    expect(r).toMatchObject({ status: 413, limit: 'IMPORT_MAX_COMPRESSION_RATIO' });
    expect(r.message).toContain('IMPORT_MAX_COMPRESSION_RATIO = 100');
    // refused once past 100x the compressed bytes (~1.7 MB here), not after the whole 20 MB
    const { size } = await stat(chunkPath(dir, 0));
    expect(size).toBeLessThanOrEqual(100 * bomb.length);
  });

  it('refuses an upload past IMPORT_MAX_BYTES, compressed or not, and writes no byte past it', async () => {
    const limits = { ...DEFAULT_SPOOL_LIMITS, maxBytes: 500_000 };
    const dir = freshDir();
    const plain = await refused(spoolUpload(body(event, 20_000), dir, opts({ limits })));
    expect(plain).toMatchObject({ status: 413, limit: 'IMPORT_MAX_BYTES' });
    expect((await stat(chunkPath(dir, 0))).size).toBeLessThanOrEqual(limits.maxBytes);
    // a gzip upload of a modest ratio is measured decompressed
    const gz = gzipSync(Buffer.from(Array.from({ length: 20_000 }, (_, i) => event(i)).join('\n')));
    const gzip = await refused(spoolUpload(Readable.from([gz]), freshDir(), opts({ gzip: true, limits })));
    expect(gzip).toMatchObject({ status: 413, limit: 'IMPORT_MAX_BYTES' });
    expect(gzip.message).toContain('once decompressed');
    // exactly at the limit is fine
    const exact = Buffer.from(`${event(1)}\n`.repeat(10));
    const ok = await spoolUpload(Readable.from([exact]), freshDir(), opts({ limits: { ...limits, maxBytes: exact.length } }));
    expect(ok.stats.decompressedBytes).toBe(exact.length);
  });

  it('refuses past the tenant quota, counting the other imports it is told about, re-read as it writes', async () => {
    let scans = 0;
    const quota = {
      limitBytes: 3_000_000,
      otherBytes: async () => {
        scans++;
        return 1_000_000;
      },
    };
    const under = await spoolUpload(body(event, 10_000), freshDir(), opts({ quota })); // ~0.9 MB
    expect(under.stats.bytesOnDisk + 1_000_000).toBeLessThanOrEqual(quota.limitBytes);
    scans = 0;
    const dir = freshDir();
    const over = await refused(spoolUpload(body(event, 40_000), dir, opts({ quota }))); // ~3.7 MB
    expect(over).toMatchObject({ status: 413, limit: 'IMPORT_TENANT_SPOOL_QUOTA_BYTES' });
    expect(scans).toBeGreaterThanOrEqual(1);
    // a tenant already at its quota is refused before a byte is read
    const full = body(event, 10);
    const atOnce = await refused(spoolUpload(full, freshDir(), opts({ quota: { limitBytes: 10, otherBytes: async () => 11 } })));
    expect(atOnce.limit).toBe('IMPORT_TENANT_SPOOL_QUOTA_BYTES');
    expect(full.readableEnded).toBe(false);
  });

  it('leaves the body readable after a refusal, so the rest can be drained and the answer read', async () => {
    const src = body(event, 50_000);
    const r = await refused(spoolUpload(src, freshDir(), opts({ limits: { ...DEFAULT_SPOOL_LIMITS, maxBytes: 100_000 } })));
    expect(r.status).toBe(413);
    expect(src.destroyed).toBe(false);
    let rest = 0;
    src.on('data', (b: Buffer) => (rest += b.length));
    src.resume();
    await new Promise((resolve) => src.once('end', resolve));
    expect(rest).toBeGreaterThan(0);
  });
});

describe('ChunkWriter', () => {
  it('ends a chunk at its byte bound as well as its line count', async () => {
    const dir = freshDir();
    await mkdir(dir, { recursive: true });
    const written: number[] = [];
    const w = new ChunkWriter(dir, 1000, async (b) => void written.push(b), 100);
    for (let i = 1; i <= 10; i++) await w.add('y'.repeat(30), i); // 30 chars a line, "\n" between
    await w.finish();
    // 30, 61, 92, 123 >= 100: four lines a chunk
    expect(w.chunkStartLines).toEqual([1, 5, 9]);
    expect((await readdir(dir)).sort()).toEqual([chunkPath(dir, 0), chunkPath(dir, 1), chunkPath(dir, 2)].map((p) => path.basename(p)));
    expect(await readFile(chunkPath(dir, 2), 'utf8')).toBe(`${'y'.repeat(30)}\n${'y'.repeat(30)}`);
    expect(w.bytesWritten).toBe(3 * (4 * 30 + 3) - 2 * 30 - 2);
    expect(written.at(-1)).toBe(w.bytesWritten);
  });
});
