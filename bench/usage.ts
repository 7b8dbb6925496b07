/**
 * /v1/usage latency with N events stored for one tenant (10 M, 100 M): the
 * events are generated server-side (INSERT … SELECT FROM numbers(), in
 * batches of 10 M, through the same materialized views), then each question
 * is asked over HTTP 3 times to warm up and 20 times measured.
 *
 *   npx tsx bench/usage.ts [events=10000000] [budgetSeconds=900] [existingTenantId]
 *
 * With an existing tenant id (e.g. the tenant bench/import.ts filled through
 * the import path), nothing is generated: its stored events are measured.
 */
import { createClickHouse } from '@tally/clickhouse';
import { TenantService } from '@tally/catalog';
import { createPool } from '@tally/postgres';
import { BENCH_DB, CUSTOMERS, benchTenant, chConfig, config, fmt, startBenchStack } from './analytics-lib.ts';

const N = Number(process.argv[2] ?? 10_000_000);
const BUDGET_S = Number(process.argv[3] ?? 900);
const EXISTING = process.argv[4];
const BATCH = 10_000_000;
const now = new Date();
const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
const nextMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
const spanSec = Math.floor((Date.now() - monthStart) / 1000) - 60;

async function main() {
  const stack = await startBenchStack(false);
  // One INSERT … SELECT of 10 M rows runs for minutes on this host.
  const ch = createClickHouse({ ...chConfig, requestTimeoutMs: 3_600_000 });
  try {
    let tenant: { tenantId: string; apiKey: { secret: string } };
    let stored = 0;
    if (EXISTING) {
      const pool = createPool(config.DATABASE_URL, 1);
      tenant = { tenantId: EXISTING, apiKey: await new TenantService(pool).createKey(EXISTING, 'bench') };
      await pool.end();
      const rows = await (await ch.query({ query: `SELECT count() AS n FROM ${BENCH_DB}.raw_usage_events_v1 WHERE tenant_id = '${EXISTING.replace(/[^0-9a-f-]/g, '')}'`, format: 'JSONEachRow' })).json<{ n: string }>();
      stored = Number(rows[0]?.n ?? 0);
    } else {
      tenant = await benchTenant(stack.api.url);
    }
    const t = tenant.tenantId.replace(/[^0-9a-f-]/g, '');
    const fill0 = performance.now();
    while (!EXISTING && stored < N && (performance.now() - fill0) / 1000 < BUDGET_S) {
      const n = Math.min(BATCH, N - stored);
      const b0 = performance.now();
      // Same distribution as the import bench: 10,000 customers, 4 features, spread over this month.
      await ch.command({
        query: `INSERT INTO ${BENCH_DB}.raw_usage_events_v1
          (tenant_id, customer_id, feature, event_id, value_micro, credits_micro, credit_system, properties, event_time, ingested_at, source, import_id, reverted, version)
          SELECT '${t}', concat('cust-', toString((number * 7919) % ${CUSTOMERS})), arrayElement(['gpt4', 'dalle', 'embed', 'whisper'], (number % 4) + 1),
                 concat('u-', toString(number)), toInt64((number % 5) + 1) * 1000000,
                 toInt64((number % 5) + 1) * arrayElement([20000000, 50000000, 500000, 3000000], (number % 4) + 1),
                 'ai-credits', if(number % 3 = 0, '{"region":"us"}', '{"region":"eu"}'),
                 toDateTime(${Math.floor(monthStart / 1000)} + intDiv(number * ${spanSec}, ${N})), now(), 'import', 'bench', 0, 1
          FROM numbers(${stored}, ${n})`,
        clickhouse_settings: { max_execution_time: 3600 },
      });
      stored += n;
      console.log(`stored ${fmt(stored)} events (+${fmt(n)} in ${((performance.now() - b0) / 1000).toFixed(1)} s)`);
    }
    if (!EXISTING && stored < N) console.log(`time budget reached: measuring with ${fmt(stored)} events`);

    const headers = { Authorization: `Bearer ${tenant.apiKey.secret}` };
    const range = `from=${new Date(monthStart).toISOString()}&to=${new Date(nextMonth).toISOString()}`;
    const questions: [string, string][] = [
      ['one customer, per day, this month (daily rollup)', `/v1/usage?${range}&customers=cust-42&window=day&aggregations=sum_credits,count`],
      ['top 10 customers by credits, this month (daily rollup)', `/v1/usage?${range}&groupBy=customer&orderBy=sum_credits&limit=10`],
      ['per feature per day, Europe/Paris (hourly rollup)', `/v1/usage?${range}&groupBy=feature&window=day&timezone=Europe/Paris`],
      ['one customer by region property, this month (raw events)', `/v1/usage?${range}&customers=cust-42&groupBy=property:region&aggregations=count,max_value`],
      ['distinct customers per day, this month (daily rollup)', `/v1/usage?${range}&window=day&aggregations=distinct_customers`],
    ];
    console.log(`\n/v1/usage latency with ${fmt(stored)} events stored (ms, 20 runs after 3 warm-up)`);
    for (const [name, path] of questions) {
      const times: number[] = [];
      let source = '';
      for (let i = 0; i < 23; i++) {
        const s0 = performance.now();
        const res = await fetch(stack.api.url + path, { headers });
        const body = (await res.json()) as { source: string; data: unknown[] };
        if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
        if (i >= 3) times.push(performance.now() - s0);
        source = `${body.source}, ${body.data.length} rows`;
      }
      times.sort((a, b) => a - b);
      const p = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(0);
      console.log(`  ${name.padEnd(58)} p50 ${p(0.5).padStart(6)}  p95 ${p(0.95).padStart(6)}  (${source})`);
    }
  } finally {
    await ch.close();
    await stack.stop();
  }
}

await main();
