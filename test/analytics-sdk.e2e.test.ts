import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Tally } from '@tally/sdk';
import { main } from '../packages/sdk/src/cli.ts';
import { apiUrl } from './support/stack.ts';
import { analyticsTenant, DAY_MS, ndjson, todayStart } from './analytics-helpers.ts';

describe('tally import (CLI) and tally.usage() (SDK)', () => {
  it('imports a gzip file with a summary, then the SDK reads the usage back', async () => {
    const { secret } = await analyticsTenant();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tally-cli-'));
    const T = todayStart() - DAY_MS;
    const file = path.join(dir, 'usage.ndjson.gz');
    const rows = Array.from({ length: 300 }, (_, i) => ({ id: `cli-${i}`, customer: i % 3 ? 'c1' : 'c2', feature: 'gpt4', value: 1, timestamp: new Date(T + i * 60_000).toISOString() }));
    await writeFile(file, gzipSync(ndjson([...rows, 'not json'])));

    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['import', file, '--mode', 'report', '--chunk-lines', '100', '--api-url', apiUrl(), '--api-key', secret, '--json'], {}, (l) => out.push(l), (l) => err.push(l));
    expect(code, err.join("\n")).toBe(0);
    const status = JSON.parse(out.join('\n'));
    expect(status).toMatchObject({ state: 'completed', rowsRead: 301, accepted: 300, rejected: 1, chunksTotal: 4 });

    const plain: string[] = [];
    const again = await main(['import', file, '--api-url', apiUrl(), '--api-key', secret], {}, (l) => plain.push(l), () => {});
    expect(again).toBe(0);
    expect(plain.join('\n')).toMatch(/accepted\s+0\n\s+duplicates\s+300\n\s+rejected\s+1/);

    const tally = new Tally({ apiKey: secret, apiUrl: apiUrl() });
    const usage = await tally.usage({ from: new Date(T), to: new Date(T + DAY_MS), groupBy: ['customer'], aggregations: ['count', 'sum_credits'], orderBy: 'count' });
    expect(usage.data).toEqual([
      { customer: 'c1', count: 200, sumCredits: 4000 },
      { customer: 'c2', count: 100, sumCredits: 2000 },
    ]);
    const bad = await main(['import', path.join(dir, 'missing.ndjson'), '--api-url', apiUrl(), '--api-key', secret], {}, () => {}, () => {});
    expect(bad).toBe(1);
  });
});
