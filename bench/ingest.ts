/**
 * Ingest and end-to-end benchmark on the whole local stack (own API and
 * workers processes, own topic and consumer group):
 *  1. raw producer ceiling (kafkajs, Tally's adapter) in the same run;
 *  2. events/s accepted through POST /v1/track/batch (C concurrent clients, B-event batches), and the
 *     API process's CPU time per 1,000 accepted events (a figure less sensitive to a loaded machine);
 *  3. events/s fully applied (Redis ledger + ClickHouse rows) for that load;
 *  4. 2xx -> balance-visible delay (p50/p99) while a background load runs at half the measured rate.
 * Usage: [API_PROCESSES=n] [BENCH_WORKERS=n] npx tsx bench/ingest.ts [seconds=15] [clients=4] [producer=kafkajs|platformatic] [batch=1000]
 * (API CPU is the API process and its node:cluster children.)
 */
import { randomUUID } from 'node:crypto';
import { createClickHouse, queryRows, sql } from '@tally/clickhouse';
import { benchTenant, config, machine, post, processCpuMs, round, sleep, startStack, summarize, usageEvent } from './lib.ts';
import { benchTopic, kafkajsThroughput, platformaticThroughput } from './producers.ts';

const seconds = Number(process.argv[2] ?? 15);
const clients = Number(process.argv[3] ?? 4);
const producerClient = process.argv[4] === 'platformatic' ? 'platformatic' : 'kafkajs';
const BATCH = Number(process.argv[5] ?? 1000);
const PROBES = 40;

const clickhouse = createClickHouse({ url: config.CLICKHOUSE_URL, database: config.CLICKHOUSE_DATABASE, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });
const rowsOf = async (tenantId: string) =>
  Number((await queryRows<{ n: string }>(clickhouse, sql`SELECT toString(count()) AS n FROM raw_usage_events_v1 FINAL WHERE tenant_id = ${tenantId}`.text))[0]!.n);

console.log(`# ingest bench ${new Date().toISOString()} — ${machine()}`);
const rawTopic = await benchTopic('ingest-raw');
// one send in flight, as the API's coalescing producer does (idempotent producers need it, see producers.ts)
const raw = producerClient === 'platformatic' ? await platformaticThroughput(rawTopic, Math.min(seconds, 10), BATCH * clients, 1) : await kafkajsThroughput(rawTopic, Math.min(seconds, 10), BATCH * clients, 1);
console.log('raw producer ceiling', JSON.stringify(raw));

const stack = await startStack(true, { KAFKA_PRODUCER_CLIENT: producerClient });
console.log('API producer client', producerClient, JSON.stringify({ apiProcesses: process.env.API_PROCESSES ?? '1', workersProcesses: stack.allWorkers.length }));
try {
  const t = await benchTenant(stack.api.url, 200);
  // steady state: every customer's ledger state exists (first use costs a rebuild from Postgres + ClickHouse)
  const warmStarted = performance.now();
  for (const customer of t.customers) await post(stack.api.url, '/v1/check', t.secret, JSON.stringify({ customer, feature: 'gpt-4', value: 0 }));
  console.log('first-use state builds', JSON.stringify({ customers: t.customers.length, msEach: round((performance.now() - warmStarted) / t.customers.length) }));
  const run = randomUUID().slice(0, 6);
  let i = 0;
  let accepted = 0;
  const latencies: number[] = [];
  const apiPid = stack.api.child.pid!;
  const cpuBefore = processCpuMs(apiPid);
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const events = Array.from({ length: BATCH }, () => usageEvent(t.customers[i % t.customers.length]!, i++, run));
        const r = await post(stack.api.url, '/v1/track/batch', t.secret, JSON.stringify({ events }));
        if (r.status !== 200) throw new Error(`track/batch ${r.status}: ${r.text.slice(0, 200)}`);
        accepted += (JSON.parse(r.text) as { accepted: number }).accepted;
        latencies.push(r.ms);
      }
    }),
  );
  const ingestSeconds = (performance.now() - started) / 1000;
  const ingestRate = Math.round(accepted / ingestSeconds);
  const apiCpuMs = processCpuMs(apiPid) - cpuBefore;
  console.log('ingest', JSON.stringify({ accepted, batch: BATCH, seconds: round(ingestSeconds), eventsPerSecond: ingestRate, batchLatencyMs: summarize(latencies), apiCpuMsPer1000Events: round((apiCpuMs / accepted) * 1000), apiCpuCores: round(apiCpuMs / 1000 / ingestSeconds) }));

  // end to end: until every accepted event is a ClickHouse row (the ledger applies before the row is written)
  let rows = 0;
  while ((rows = await rowsOf(t.tenantId)) < accepted) await sleep(250);
  const e2eSeconds = (performance.now() - started) / 1000;
  console.log('applied', JSON.stringify({ rows, seconds: round(e2eSeconds), eventsPerSecond: Math.round(rows / e2eSeconds) }));

  // delay 2xx -> balance visible, under a background load at half the ingest rate
  const halfRate = Math.max(1000, Math.round(ingestRate / 2));
  let stop = false;
  const background = (async () => {
    const tick = 100;
    const perTick = Math.max(1, Math.round((halfRate * tick) / 1000));
    while (!stop) {
      const t0 = performance.now();
      const events = Array.from({ length: perTick }, () => usageEvent(t.customers[i % 100]!, i++, run));
      await post(stack.api.url, '/v1/track/batch', t.secret, JSON.stringify({ events }));
      await sleep(Math.max(0, tick - (performance.now() - t0)));
    }
  })();
  const delays: number[] = [];
  for (let p = 0; p < PROBES; p++) {
    const customer = t.customers[100 + (p % 100)]!;
    const check = async () => JSON.parse((await post(stack.api.url, '/v1/check', t.secret, JSON.stringify({ customer, feature: 'gpt-4', value: 0 }))).text) as { usage: number };
    const before = (await check()).usage;
    const r = await post(stack.api.url, '/v1/track', t.secret, JSON.stringify({ id: `${run}-probe-${p}`, customer, feature: 'gpt-4' }));
    if (r.status !== 200) throw new Error(`track ${r.status}`);
    const acked = performance.now();
    while ((await check()).usage === before) await sleep(5);
    delays.push(performance.now() - acked);
  }
  stop = true;
  await background;
  console.log('balance-visible delay at half rate', JSON.stringify({ rate: halfRate, ms: summarize(delays) }));
} finally {
  await stack.stop();
  await clickhouse.close();
}
process.exit(0);
