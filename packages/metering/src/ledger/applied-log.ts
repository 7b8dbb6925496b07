import { keys, type RedisClient } from '@tally/redis';
import { parseTakes } from '../pipeline/usage-row.ts';

/**
 * A debit the ledger applied whose ClickHouse row is not confirmed yet, as its
 * applied-log entry records it (log_entry in lib/ledger.lua): a rebuild counts
 * it, or the state it builds would lack a debit that is already made and
 * already marked seen (its row, written later, then debits nothing).
 */
export interface InFlightDebit {
  digest: string;
  meter: string;
  planMicro: bigint;
  purchasedMicro: bigint;
  overageMicro: bigint;
  appliedAtMs: number;
  /** grant id -> micro-credits taken from it */
  takes: Map<string, bigint>;
}

const DIGEST_BYTES = 8;
const ENTRY = /^(\d+):(\d+):(\d+):(\d+):(.+)$/;

/**
 * The entries of one customer's applied log (HGETALL as field/value pairs of
 * Buffers). Fields are the 8-byte id digest (the split), digest + '#g' (grant
 * takes) and digest + '#w' (row claim). An entry written before the meter key
 * was recorded cannot be attributed and is left out.
 */
export function parseAppliedLog(pairs: Buffer[], meterPrefix: string): InFlightDebit[] {
  const takes = new Map<string, string>();
  const entries: { digest: string; value: string }[] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const field = pairs[i]!;
    const value = pairs[i + 1]!.toString('utf8');
    if (field.length === DIGEST_BYTES) entries.push({ digest: field.toString('hex'), value });
    else if (field.length === DIGEST_BYTES + 2 && field.subarray(DIGEST_BYTES).toString() === '#g') takes.set(field.subarray(0, DIGEST_BYTES).toString('hex'), value);
  }
  const out: InFlightDebit[] = [];
  for (const e of entries) {
    const m = ENTRY.exec(e.value);
    if (!m || !m[5]!.startsWith(meterPrefix)) continue;
    out.push({
      digest: e.digest,
      meter: m[5]!.slice(meterPrefix.length),
      planMicro: BigInt(m[1]!),
      purchasedMicro: BigInt(m[2]!),
      overageMicro: BigInt(m[3]!),
      appliedAtMs: Number(m[4]!),
      takes: new Map(parseTakes(takes.get(e.digest)).map((x) => [x.grantId, BigInt(x.micro)])),
    });
  }
  return out;
}

export async function readAppliedLog(redis: RedisClient, t: string, c: string): Promise<InFlightDebit[]> {
  const pairs = (await redis.callBuffer('HGETALL', keys.appliedLog(t, c))) as Buffer[];
  return parseAppliedLog(pairs, keys.meter(t, c, ''));
}
