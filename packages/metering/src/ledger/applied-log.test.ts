import { describe, expect, it } from 'vitest';
import { parseAppliedLog } from './applied-log.ts';

const d = (n: number) => Buffer.alloc(8, n);
const f = (digest: Buffer, suffix: string) => Buffer.concat([digest, Buffer.from(suffix)]);
const v = (s: string) => Buffer.from(s);

describe('parseAppliedLog', () => {
  const prefix = 'tally:{t:c}:meter:';
  it('reads each entry with its meter and grant takes, and skips claims', () => {
    const pairs = [
      d(1), v(`5000:2000:0:1700000000123:${prefix}credits`),
      f(d(1), '#g'), v('g1=1500=1e13,ro:credits:1=500=17'),
      f(d(1), '#w'), v('1700000030000:job-1'),
      d(2), v(`0:0:7:1700000000456:${prefix}api:v2`),
    ];
    const out = parseAppliedLog(pairs, prefix);
    expect(out).toEqual([
      { digest: d(1).toString('hex'), meter: 'credits', planMicro: 5000n, purchasedMicro: 2000n, overageMicro: 0n, appliedAtMs: 1700000000123, takes: new Map([['g1', 1500n], ['ro:credits:1', 500n]]) },
      { digest: d(2).toString('hex'), meter: 'api:v2', planMicro: 0n, purchasedMicro: 0n, overageMicro: 7n, appliedAtMs: 1700000000456, takes: new Map() },
    ]);
  });

  it('leaves out an entry written before the meter was recorded, or of another customer', () => {
    const pairs = [d(3), v('1:0:0:1700000000000'), d(4), v('1:0:0:1700000000000:tally:{t:x}:meter:credits')];
    expect(parseAppliedLog(pairs, prefix)).toEqual([]);
  });
});
