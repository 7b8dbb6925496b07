/**
 * Fair share in the pipeline (issue 14): tenant B's debit delay (2xx of
 * POST /v1/track -> balance visible through check) alone, and while tenant A
 * floods POST /v1/track/batch at the most its ingest limit lets through
 * (RATE_LIMIT_INGEST_EVENTS_PER_SECOND, 10,000 events/s by default; A backs
 * off 50 ms on a 429). Run with the fair share off (FAIR_SHARE_EVENTS=0)
 * and on, each on a stack of its own. A's backlog (accepted - applied) at the
 * end of the flood is printed next to B's figures.
 * Usage: npx tsx bench/fair-share.ts [floodSeconds=30] [modes=off,on] [share=1000]
 *   (BENCH_INGEST_BUDGET_MS=30000 on a loaded box, where 1,000-event batches outlast the 5 s budget)
 */
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { createClickHouse, queryRows, sql } from '@tally/clickhouse';
import { benchTenant, config, machine, post, round, sleep, startStack, summarize, usageEvent } from './lib.ts';

const floodSeconds = Number(process.argv[2] ?? 30);
const modes = (process.argv[3] ?? 'off,on').split(',');
const share = process.argv[4] ?? '1000';
const ALONE_PROBES = 30;
const BATCH = 1000;
const CLIENTS = 4;

const clickhouse = createClickHouse({ url: config.CLICKHOUSE_URL, database: config.CLICKHOUSE_DATABASE, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });
const rowsOf = async (tenantId: string) =>
  Number((await queryRows<{ n: string }>(clickhouse, sql`SELECT toString(count()) AS n FROM raw_usage_events_v1 WHERE tenant_id = ${tenantId}`.text))[0]!.n);
const load = () => os.loadavg().map((l) => round(l)).join(' ');

console.log(`# fair-share bench ${new Date().toISOString()} — ${machine()} — load ${load()}`);

for (const mode of modes) {
  const stack = await startStack(true, {
    FAIR_SHARE_EVENTS: mode === 'on' ? share : '0',
    RATE_LIMIT_INGEST_EVENTS_PER_SECOND: '10000', // the default: A floods at what its limit lets through
    RATE_LIMIT_CHECK_PER_SECOND: '2000',
    // a loaded box: a 1,000-event batch may take longer than the 5 s default budget (then 503s, not a flood)
    REQUEST_BUDGET_INGEST_MS: process.env.BENCH_INGEST_BUDGET_MS ?? '5000',
  });
  try {
    const a = await benchTenant(stack.api.url, 200);
    const b = await benchTenant(stack.api.url, 1);
    for (const t of [a, b]) for (const customer of t.customers) await post(stack.api.url, '/v1/check', t.secret, JSON.stringify({ customer, feature: 'gpt-4', value: 0 }));
    const run = randomUUID().slice(0, 6);
    let p = 0;
    /** One of B's events: 2xx -> its debit in the balance check answers. */
    const probe = async () => {
      const customer = b.customers[0]!;
      const usage = async () => (JSON.parse((await post(stack.api.url, '/v1/check', b.secret, JSON.stringify({ customer, feature: 'gpt-4', value: 0 }))).text) as { usage: number }).usage;
      const before = await usage();
      const body = JSON.stringify({ id: `${run}-b-${p++}`, customer, feature: 'gpt-4' });
      let r = await post(stack.api.url, '/v1/track', b.secret, body);
      for (let k = 0; r.status === 503 && k < 10; k++) r = await post(stack.api.url, '/v1/track', b.secret, body); // same id: applied once
      if (r.status !== 200) throw new Error(`B track ${r.status}: ${r.text}`);
      const acked = performance.now();
      while ((await usage()) === before) await sleep(5);
      return performance.now() - acked;
    };

    const alone: number[] = [];
    for (let k = 0; k < ALONE_PROBES; k++) {
      alone.push(await probe());
      await sleep(100);
    }
    console.log(`[fair share ${mode}] B alone`, JSON.stringify({ ms: summarize(alone), load: load() }));

    let i = 0;
    let accepted = 0;
    let limited = 0;
    let unavailable = 0;
    const floodEnds = performance.now() + floodSeconds * 1000;
    const flood = Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (performance.now() < floodEnds) {
          const events = Array.from({ length: BATCH }, () => usageEvent(a.customers[i % a.customers.length]!, i++, run));
          const r = await post(stack.api.url, '/v1/track/batch', a.secret, JSON.stringify({ events }));
          if (r.status === 429 || r.status === 503) {
            if (r.status === 429) limited++;
            else unavailable++;
            await sleep(50); // Retry-After is whole seconds; the limit refills continuously
            continue;
          }
          if (r.status !== 200) throw new Error(`A track/batch ${r.status}: ${r.text.slice(0, 200)}`);
          accepted += (JSON.parse(r.text) as { accepted: number }).accepted;
        }
      }),
    );
    // B keeps its trickle for the whole flood; a probe sent during the flood is measured until visible
    const during: number[] = [];
    const started = performance.now();
    await sleep(2000); // A's backlog first
    while (performance.now() < floodEnds) {
      during.push(await probe());
      await sleep(100);
    }
    await flood;
    const floodFor = (performance.now() - started) / 1000;
    const appliedA = await rowsOf(a.tenantId);
    console.log(
      `[fair share ${mode}] B during A's flood`,
      JSON.stringify({
        ms: summarize(during),
        aAcceptedPerSecond: Math.round(accepted / floodFor),
        a429: limited,
        a503: unavailable,
        aBacklogAtEnd: accepted - appliedA,
        load: load(),
      }),
    );
  } finally {
    await stack.stop();
  }
}
await clickhouse.close();
process.exit(0);
