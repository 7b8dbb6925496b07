import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

export const chunkPath = (dir: string, chunk: number) => path.join(dir, `chunk-${String(chunk).padStart(6, '0')}.txt`);

/** Lines are gathered up to this many characters, then written: one write per 64 KiB, not one per line. */
export const WRITE_BUFFER_CHARS = 64 * 1024;
/** A chunk also ends at this size, so a worker reading one chunk file holds at most this much. */
export const MAX_CHUNK_BYTES = 64 << 20;

/**
 * Writes lines into chunk files of at most `linesPerChunk` lines (or
 * MAX_CHUNK_BYTES), as they arrive: what it holds in memory is its write
 * buffer, never a chunk. A chunk file is its lines joined by '\n'.
 */
export class ChunkWriter {
  /** 1-based file line number of the first line of each chunk. */
  readonly chunkStartLines: number[] = [];
  /** Bytes written to chunk files so far. */
  bytesWritten = 0;
  /** The largest the write buffer grew, in characters. */
  peakBufferChars = 0;

  private file: FileHandle | null = null;
  private buffer = '';
  private linesInChunk = 0;
  private chunkBytes = 0;

  constructor(
    private readonly dir: string,
    private readonly linesPerChunk: number,
    /** Runs after every write with the total written, so the caller can enforce a disk quota as the file grows. */
    private readonly afterWrite: (bytesWritten: number) => Promise<void>,
    private readonly maxChunkBytes = MAX_CHUNK_BYTES,
  ) {}

  get bufferedChars(): number {
    return this.buffer.length;
  }

  async add(line: string, lineNo: number): Promise<void> {
    if (!this.file) {
      this.chunkStartLines.push(lineNo);
      this.file = await open(chunkPath(this.dir, this.chunkStartLines.length - 1), 'w');
      this.linesInChunk = 0;
      this.chunkBytes = 0;
    }
    this.buffer += this.linesInChunk === 0 ? line : `\n${line}`;
    this.linesInChunk++;
    this.peakBufferChars = Math.max(this.peakBufferChars, this.buffer.length);
    // characters never outnumber UTF-8 bytes, so a chunk ends at maxChunkBytes (plus one line) at the latest
    const full = this.linesInChunk >= this.linesPerChunk || this.chunkBytes + this.buffer.length >= this.maxChunkBytes;
    if (full) await this.endChunk();
    else if (this.buffer.length >= WRITE_BUFFER_CHARS) await this.write();
  }

  /** Writes what is buffered and closes the current chunk file. */
  async finish(): Promise<void> {
    if (this.file) await this.endChunk();
  }

  /** Closes the open file without writing (the caller removes the folder). */
  async abort(): Promise<void> {
    const file = this.file;
    this.file = null;
    this.buffer = '';
    await file?.close().catch(() => {});
  }

  private async endChunk(): Promise<void> {
    await this.write();
    const file = this.file!;
    this.file = null;
    await file.close();
  }

  private async write(): Promise<void> {
    if (this.buffer === '') return;
    const text = this.buffer;
    this.buffer = '';
    const data = Buffer.from(text, 'utf8');
    await this.file!.writeFile(data); // from the current position, however many write calls it takes
    this.chunkBytes += data.length;
    this.bytesWritten += data.length;
    await this.afterWrite(this.bytesWritten);
  }
}
