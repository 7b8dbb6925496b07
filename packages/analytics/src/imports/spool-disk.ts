import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

/** Bytes of the files in one import's spool folder (0 when it is gone). */
export async function spoolBytes(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return 0;
    throw err;
  }
  let total = 0;
  for (const name of names) {
    total += await stat(path.join(dir, name)).then(
      (s) => s.size,
      () => 0, // removed meanwhile (a worker finished the chunk)
    );
  }
  return total;
}

/** Past this much, the rest of a refused body is not worth reading: the connection is closed instead. */
export const DRAIN_MAX_BYTES = 32 << 20;

/**
 * Reads and discards what is left of a refused upload, so the client, still
 * sending, gets to read the answer (closing a socket with unread data resets
 * it, and the answer is lost). A body larger than DRAIN_MAX_BYTES is cut off.
 */
export function discardRest(body: Readable, maxBytes = DRAIN_MAX_BYTES): void {
  if (body.readableEnded || body.destroyed) return;
  let seen = 0;
  body.on('data', (b: Buffer) => {
    seen += b.length;
    if (seen > maxBytes) body.destroy();
  });
  body.on('error', () => {}); // the client went away: nothing left to answer
  body.resume();
}
