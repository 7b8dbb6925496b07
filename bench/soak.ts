/**
 * Memory soak (issue 14): a private stack (API + workers), first a short closed-loop ingest run to find the
 * maximum accepted rate on this machine now, then `minutes` at half that rate plus a steady `check` load, while
 * new customers keep appearing (tracked events create them; checks then go to every customer seen so far), so
 * anything that grows with customers shows. Every 30 s it samples RSS (/proc) and V8 heap used (/metrics) of
 * both processes and writes one CSV line; at the end it prints the curve.
 *
 * The caches are capped with CACHE_MAX_CUSTOMERS (default here 5,000, below the customers a 30-minute run
 * creates, so the run crosses the cap and the curve shows what happens past it).
 *
 * Usage: npx tsx bench/soak.ts [minutes=30] [csv=/tmp/tally-soak-<time>.csv] [newCustomersPerSecond=10] [checksPerSecond=200]
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { createClickHouse, queryRows, sql } from '@tally/clickhouse';
import { createRedis } from '@tally/redis';
import { benchTenant, config, machine, post, round, sleep, startStack, summarize, usageEvent } from './lib.ts';

const minutes = Number(process.argv[2] ?? 30);
const csvPath = process.argv[3] ?? `/tmp/tally-soak-${new Date().toISOString().replace(/[:.]/g, '-')}.csv`;
const newPerSecond = Number(process.argv[4] ?? 10);
const checksPerSecond = Number(process.argv[5] ?? 200);
const CACHE_MAX_CUSTOMERS = process.env.SOAK_CACHE_MAX_CUSTOMERS ?? '5000';
const SAMPLE_MS = 30_000;
const METRICS_TOKEN = `soak-${randomUUID()}`;
const MAX_RUN_SECONDS = 20;
const ATTACHED = 100;

/** The first answer of each kind that was not a success, printed with the samples (what went wrong, not only how often). */
const failures = new Map<string, number>();
const failed = (what: string, status: number, text: string) => {
  const k = `${what} ${status} ${text.slice(0, 160)}`;
  failures.set(k, (failures.get(k) ?? 0) + 1);
};
/** startStack's stack with a start-up wait of 3 minutes (a loaded machine). */
const startSoakStack = (extraEnv: Record<string, string>) => startStack(true, extraEnv, 180_000);
const load = () => os.loadavg().map((l) => round(l)).join(' ');
const rssMiB = (pid: number) => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return round(Number(line?.split(/\s+/)[1] ?? Number.NaN) / 1024, 1);
};
async function heapMiB(url: string): Promise<number> {
  try {
    const text = await (await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    const line = text.split('\n').find((l) => l.startsWith('nodejs_heap_size_used_bytes '));
    return round(Number(line?.split(' ')[1]) / 2 ** 20, 1);
  } catch {
    return Number.NaN;
  }
}

const clickhouse = createClickHouse({ url: config.CLICKHOUSE_URL, database: config.CLICKHOUSE_DATABASE, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });
const rowsOf = async (tenantId: string) =>
  Number((await queryRows<{ n: string }>(clickhouse, sql`SELECT toString(count()) AS n FROM raw_usage_events_v1 WHERE tenant_id = ${tenantId}`.text))[0]!.n);

console.log(`# soak ${new Date().toISOString()} — ${machine()} — load ${load()} — ${minutes} min, csv ${csvPath}`);
// budgets raised: on a shared, loaded machine a 5 s budget and a 1 s readiness probe flap dependencies to "down"
// (fail fast), and the soak measures memory, not latency
const stack = await startSoakStack({ METRICS_TOKEN, CUSTOMERS_PER_MINUTE: '0', CACHE_MAX_CUSTOMERS, REQUEST_BUDGET_INGEST_MS: '30000', REQUEST_BUDGET_CHECK_MS: '30000', REQUEST_BUDGET_OTHER_MS: '30000' });
const apiPid = stack.api.child.pid!;
const workers = stack.workers!;
const workersPid = workers.child.pid!;
let tenantId = '';
try {
  const t = await benchTenant(stack.api.url, ATTACHED);
  tenantId = t.tenantId;
  for (const customer of t.customers) await post(stack.api.url, '/v1/check', t.secret, JSON.stringify({ customer, feature: 'gpt-4', value: 0 }));
  const run = randomUUID().slice(0, 6);
  let i = 0;
  // a 503 (a budget spent on a loaded machine) counts as nothing accepted, and the run goes on
  let maxErrors = 0;
  const send = async (events: unknown[]) => {
    const r = await post(stack.api.url, '/v1/track/batch', t.secret, JSON.stringify({ events }));
    if (r.status === 200) return JSON.parse(r.text) as { accepted: number };
    if (r.status !== 503) throw new Error(`track/batch ${r.status}: ${r.text.slice(0, 200)}`);
    failed('max-run track/batch', r.status, r.text);
    maxErrors++;
    await sleep(200);
    return { accepted: 0 };
  };

  // 1. the maximum: 4 clients, 500-event batches, closed loop, attached customers only
  let accepted = 0;
  const maxStarted = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (performance.now() < maxStarted + MAX_RUN_SECONDS * 1000) {
        accepted += (await send(Array.from({ length: 500 }, () => usageEvent(t.customers[i % ATTACHED]!, i++, run)))).accepted;
      }
    }),
  );
  const maxRate = Math.round(accepted / ((performance.now() - maxStarted) / 1000));
  const rate = Math.max(100, Math.round(maxRate / 2));
  console.log('max ingest', JSON.stringify({ eventsPerSecond: maxRate, seconds: MAX_RUN_SECONDS, answered503: maxErrors, load: load() }));
  console.log('soak load', JSON.stringify({ ingestEventsPerSecond: rate, checksPerSecond, newCustomersPerSecond: newPerSecond, cacheMaxCustomers: Number(CACHE_MAX_CUSTOMERS) }));
  // let the workers drain the max run's backlog before the first sample
  while ((await rowsOf(t.tenantId)) < accepted) await sleep(1000);

  // 2. the soak: ingest at `rate` (every 100 ms one batch; `newPerSecond / 10` of its events name a new customer)
  const known: string[] = [...t.customers];
  let created = 0;
  let stop = false;
  let sent = 0;
  let ingestErrors = 0;
  const ingestMs: number[] = [];
  const soakStarted = Date.now();
  const until = soakStarted + minutes * 60_000;
  const ingest = (async () => {
    // each batch carries the events (and new customers) due since the previous one: a slow answer on a loaded
    // machine makes the next batch larger, so the rate holds as long as the stack can take it
    const tick = 100;
    let last = performance.now();
    let dueEvents = 0;
    let dueNew = 0;
    while (!stop) {
      const t0 = performance.now();
      dueEvents += (rate * (t0 - last)) / 1000;
      dueNew += (newPerSecond * (t0 - last)) / 1000;
      last = t0;
      const n = Math.min(5000, Math.floor(dueEvents));
      const fresh = Array.from({ length: Math.min(n, Math.floor(dueNew)) }, () => `soak-${run}-n${created++}`);
      dueEvents -= n;
      dueNew -= fresh.length;
      if (n > 0) {
        const events = Array.from({ length: n }, (_, k) => usageEvent(k < fresh.length ? fresh[k]! : t.customers[(i + k) % ATTACHED]!, i++, run));
        try {
          const r = await post(stack.api.url, '/v1/track/batch', t.secret, JSON.stringify({ events }));
          if (r.status === 200) {
            sent += (JSON.parse(r.text) as { accepted: number }).accepted;
            known.push(...fresh);
          } else {
            ingestErrors++;
            failed('track/batch', r.status, r.text);
          }
          ingestMs.push(r.ms);
        } catch {
          ingestErrors++;
        }
      }
      await sleep(Math.max(0, tick - (performance.now() - t0)));
    }
  })();
  let checks = 0;
  let checkErrors = 0;
  let checkMs: number[] = [];
  let cursor = 0;
  const checker = (async () => {
    const tick = 100;
    const perTick = Math.max(1, Math.round((checksPerSecond * tick) / 1000));
    while (!stop) {
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: perTick }, async () => {
          // round robin over every customer seen so far: distinct customers keep coming
          const customer = known[cursor++ % known.length]!;
          try {
            const r = await post(stack.api.url, '/v1/check', t.secret, JSON.stringify({ customer, feature: 'gpt-4', value: 1 }));
            if (r.status === 200) checks++;
            else {
              checkErrors++;
              failed('check', r.status, r.text);
            }
            checkMs.push(r.ms);
          } catch {
            checkErrors++;
          }
        }),
      );
      await sleep(Math.max(0, tick - (performance.now() - t0)));
    }
  })();

  writeFileSync(csvPath, 'elapsed_s,api_rss_mib,api_heap_mib,workers_rss_mib,workers_heap_mib,events_accepted,rows_stored,customers,checks,ingest_errors,check_errors,check_p99_ms,load1\n');
  const samples: string[][] = [];
  for (let next = soakStarted; next <= until; next += SAMPLE_MS) {
    await sleep(Math.max(0, next - Date.now()));
    const row = [
      String(Math.round((Date.now() - soakStarted) / 1000)),
      String(rssMiB(apiPid)),
      String(await heapMiB(stack.api.url)),
      String(rssMiB(workersPid)),
      String(await heapMiB(workers.url)),
      String(sent),
      String(await rowsOf(t.tenantId).catch(() => Number.NaN)),
      String(known.length),
      String(checks),
      String(ingestErrors),
      String(checkErrors),
      String(summarize(checkMs).p99),
      String(round(os.loadavg()[0]!)),
    ];
    checkMs = [];
    samples.push(row);
    appendFileSync(csvPath, `${row.join(',')}\n`);
    console.log(row.join(','));
    if (failures.size > 0) console.log('  not 2xx since the last sample:', JSON.stringify(Object.fromEntries(failures)));
    failures.clear();
  }
  stop = true;
  await Promise.all([ingest, checker]);

  console.log('\n# curve (every 2nd sample = every minute)');
  console.log('| elapsed | API RSS MiB | API heap MiB | workers RSS MiB | workers heap MiB | events accepted | rows stored | customers | load (1 min) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  samples.forEach((s, k) => {
    if (k % 2 === 0 || k === samples.length - 1) console.log(`| ${round(Number(s[0]) / 60, 1)} min | ${s[1]} | ${s[2]} | ${s[3]} | ${s[4]} | ${s[5]} | ${s[6]} | ${s[7]} | ${s[12]} |`);
  });
  console.log('ingest batch latency', JSON.stringify(summarize(ingestMs)), 'errors', JSON.stringify({ ingestErrors, checkErrors, checks, customers: known.length }));
} finally {
  await stack.stop();
  // the soak's tenant leaves no dedup hashes behind in the shared Redis (about 12 bytes an event)
  if (tenantId) {
    const redis = createRedis(config.REDIS_URL, { enableOfflineQueue: true });
    let dropped = 0;
    try {
      const stream = redis.scanStream({ match: `*${tenantId}*`, count: 1000 });
      for await (const batch of stream as AsyncIterable<string[]>) if (batch.length) dropped += await redis.unlink(...batch);
      console.log("dropped the soak tenant's Redis keys", dropped);
    } catch (err) {
      console.log("could not drop the soak tenant's Redis keys", err);
    }
    redis.disconnect();
  }
  await clickhouse.close();
}
process.exit(0);
