/**
 * Helpers for the analytics benchmarks: a private API + workers pointed at a
 * separate ClickHouse database (`tally_bench`, so millions of bench rows never
 * weigh on the shared `tally` database), a tenant with a catalog and customers,
 * and the peak memory of a process.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { TenantService } from '@tally/catalog';
import { migrateClickHouse } from '@tally/clickhouse';
import { createPool } from '@tally/postgres';
import { parseConfig, sharedEnv } from '@tally/runtime';
import { startApp, type AppProcess } from '../test/support/processes.ts';

export const config = parseConfig(sharedEnv);
export const BENCH_DB = 'tally_bench';
export const chConfig = { url: config.CLICKHOUSE_URL, database: BENCH_DB, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD };
export const CUSTOMERS = 10_000;
export const FEATURES = ['gpt4', 'dalle', 'embed', 'whisper'];

export async function startBenchStack(withWorkers = true): Promise<{ api: AppProcess; workers: AppProcess | null; stop(): Promise<void> }> {
  await migrateClickHouse(chConfig);
  const env = { CLICKHOUSE_DATABASE: BENCH_DB, IMPORT_QUEUE: `import-bench-${randomUUID().slice(0, 8)}`, LOG_LEVEL: 'warn', NODE_ENV: 'production' };
  const api = await startApp('api', env);
  const workers = withWorkers ? await startApp('workers', { ...env, PUBLIC_URL: api.url }) : null;
  return {
    api,
    workers,
    async stop() {
      await workers?.stop();
      await api.stop();
    },
  };
}

/** A tenant with 4 features in one credit system and CUSTOMERS customers (report imports would flag unknown ones). */
export async function benchTenant(apiUrl: string) {
  const pool = createPool(config.DATABASE_URL, 2);
  try {
    const tenant = await new TenantService(pool).createTenant(`bench-${Date.now()}`);
    const res = await fetch(`${apiUrl}/v1/sync`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tenant.apiKey.secret}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        features: FEATURES.map((slug) => ({ slug, type: 'metered', name: slug })),
        creditSystems: [{ slug: 'ai-credits', name: 'AI', features: FEATURES.map((feature, i) => ({ feature, creditCost: [20, 50, 0.5, 3][i] })) }],
        creditPacks: [],
        plans: [],
      }),
    });
    if (res.status !== 200) throw new Error(`sync: ${res.status} ${await res.text()}`);
    const ids = Array.from({ length: CUSTOMERS }, (_, i) => `cust-${i}`);
    await pool.query(`INSERT INTO customers (tenant_id, id, email) SELECT $1, id, id || '@bench.example' FROM unnest($2::text[]) AS id`, [tenant.tenantId, ids]);
    return tenant;
  } finally {
    await pool.end();
  }
}

/** Peak resident memory (VmHWM) of a process, in MiB. */
export async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
