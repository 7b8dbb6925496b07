/**
 * Import benchmark: a 10-million-event NDJSON file (generated under .data/,
 * not in git) streamed to POST /v1/imports until every row is queryable in
 * ClickHouse; memory of the API and workers processes; and, in the same run,
 * ClickHouse's own insert rate for the same rows (one streamed TabSeparated
 * INSERT into the same table, MVs included).
 *
 *   npx tsx bench/import.ts [events=10000000] [chunkLines=100000] [only=import|clickhouse]
 */
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { createClient } from '@clickhouse/client';
import { REPORT_COLUMNS } from '@tally/analytics';
import { tsvRow } from '@tally/clickhouse';
import { BENCH_DB, CUSTOMERS, FEATURES, benchTenant, chConfig, fmt, peakRssMiB, startBenchStack } from './analytics-lib.ts';

const N = Number(process.argv[2] ?? 10_000_000);
const CHUNK = Number(process.argv[3] ?? 100_000);
const ONLY = process.argv[4] ?? '';
const FILE = `.data/bench-import-${N}.ndjson`;
const monthStart = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1);
const span = Math.max(3_600_000, Date.now() - monthStart - 60_000);

function line(i: number): string {
  const t = new Date(monthStart + Math.floor((i / N) * span)).toISOString();
  return `{"id":"b-${i}","customer":"cust-${(i * 7919) % CUSTOMERS}","feature":"${FEATURES[i % 4]}","value":${(i % 5) + 1},"timestamp":"${t}","properties":{"region":"${i % 3 ? 'eu' : 'us'}"}}`;
}

async function generate() {
  if (existsSync(FILE)) return;
  const out = createWriteStream(FILE);
  let buf = '';
  for (let i = 0; i < N; i++) {
    buf += line(i) + '\n';
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
}

async function main() {
  const t0 = performance.now();
  await generate();
  const bytes = (await stat(FILE)).size;
  console.log(`file ${FILE}: ${fmt(N)} events, ${(bytes / 2 ** 20).toFixed(0)} MiB (ready in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);

  const stack = await startBenchStack();
  try {
    const tenant = await benchTenant(stack.api.url);
    if (ONLY !== 'clickhouse') await importFile(stack, tenant);
    if (ONLY !== 'import') await clickhouseAlone(tenant.tenantId);
  } finally {
    await stack.stop();
  }
}

async function importFile(stack: Awaited<ReturnType<typeof startBenchStack>>, tenant: Awaited<ReturnType<typeof benchTenant>>) {
  {
    const started = performance.now();
    const res = await fetch(`${stack.api.url}/v1/imports?mode=report&chunkLines=${CHUNK}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tenant.apiKey.secret}`, 'Content-Type': 'application/x-ndjson' },
      body: Readable.toWeb(createReadStream(FILE)) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    const created = (await res.json()) as { id: string; chunksTotal: number };
    if (res.status !== 202) throw new Error(`upload: ${res.status} ${JSON.stringify(created)}`);
    const uploaded = performance.now();
    let status: Record<string, unknown>;
    for (;;) {
      const r = await fetch(`${stack.api.url}/v1/imports/${created.id}`, { headers: { Authorization: `Bearer ${tenant.apiKey.secret}` } });
      status = (await r.json()) as Record<string, unknown>;
      if (status.state === 'completed' || status.state === 'failed') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const done = performance.now();
    const seconds = (done - started) / 1000;
    console.log(`import ${status.state}: ${JSON.stringify({ rowsRead: status.rowsRead, accepted: status.accepted, duplicates: status.duplicates, rejected: status.rejected, chunks: created.chunksTotal })}`);
    console.log(`upload + spool: ${((uploaded - started) / 1000).toFixed(1)} s; upload to queryable: ${seconds.toFixed(1)} s = ${fmt(N / seconds)} events/s`);
    console.log(`peak RSS: api ${await peakRssMiB(stack.api.child.pid!)} MiB, workers ${await peakRssMiB(stack.workers!.child.pid!)} MiB`);

  }
}

async function clickhouseAlone(tenantId: string) {
  {
    // ClickHouse alone: the same rows as the import wrote them (same TabSeparated format, same
    // table and materialized views), streamed in one INSERT from this process.
    // A long request timeout: one INSERT of millions of rows outlasts the app client's 30 s.
    const ch = createClient({ url: chConfig.url, username: chConfig.username, password: chConfig.password, request_timeout: 3_600_000, compression: { request: false, response: false } });
    const other = `${tenantId}-chonly`;
    const ingested = Math.floor(Date.now() / 1000);
    const costs = [20_000_000n, 50_000_000n, 500_000n, 3_000_000n];
    async function* rows() {
      let buf = '';
      for (let i = 0; i < N; i++) {
        const t = Math.floor((monthStart + Math.floor((i / N) * span)) / 1000);
        const value = BigInt((i % 5) + 1) * 1_000_000n;
        const credits = (value * costs[i % 4]! + 500_000n) / 1_000_000n;
        buf += tsvRow([other, `cust-${(i * 7919) % CUSTOMERS}`, FEATURES[i % 4]!, `b-${i}`, value, credits, 0n, 0n, 0n, 'ai-credits', '', '', `{"region":"${i % 3 ? 'eu' : 'us'}"}`, t, ingested, 'import', 'chonly', 0, 1]) + '\n';
        if (buf.length > 1 << 20) {
          yield buf;
          buf = '';
        }
      }
      yield buf;
    }
    const c0 = performance.now();
    const cols = REPORT_COLUMNS.join(', ');
    const result = await ch.exec({ query: `INSERT INTO ${BENCH_DB}.raw_usage_events_v1 (${cols}) FORMAT TabSeparated`, values: Readable.from(rows()) });
    result.stream.resume();
    await once(result.stream, 'end');
    const cs = (performance.now() - c0) / 1000;
    console.log(`ClickHouse alone (one streamed INSERT of the same ${fmt(N)} rows): ${cs.toFixed(1)} s = ${fmt(N / cs)} rows/s`);
    await ch.close();
  }
}

await main();
