/**
 * Shared bench helpers: a private stack (API + workers on their own Kafka
 * topic, consumer group and deduct queue), a tenant with the seed catalog,
 * a keep-alive HTTP client and percentiles. Everything points at 127.0.0.1.
 */
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { createPool } from '@tally/postgres';
import { TenantService } from '@tally/catalog';
import { createKafka, KafkajsAdmin } from '@tally/kafka';
import { parseConfig, sharedEnv } from '@tally/runtime';
import { startApp, type AppProcess } from '../test/support/processes.ts';

export { startApp };

export const config = parseConfig(sharedEnv);

export interface Stack {
  api: AppProcess;
  workers: AppProcess | null;
  allWorkers: AppProcess[];
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startStack(withWorkers = true, extraEnv: Record<string, string> = {}, startTimeoutMs = 60_000): Promise<Stack> {
  const run = randomUUID().slice(0, 8);
  const env = {
    KAFKA_TOPIC_EVENTS: `tally.usage-events.bench-${run}`,
    KAFKA_CONSUMER_GROUP: `tally-metering-bench-${run}`,
    LOG_LEVEL: 'warn',
    // 'test', not 'production': production refuses the local services' defaults (an empty ClickHouse
    // password, the development secrets), and nothing on the measured paths depends on NODE_ENV
    NODE_ENV: 'test',
    // per-tenant rate limits off: a benchmark drives one tenant far past the defaults on purpose
    RATE_LIMIT_INGEST_EVENTS_PER_SECOND: '0',
    RATE_LIMIT_CHECK_PER_SECOND: '0',
    RATE_LIMIT_OTHER_PER_SECOND: '0',
    ...extraEnv,
  };
  const admin = new KafkajsAdmin(createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'bench' }));
  await admin.ensureTopic(env.KAFKA_TOPIC_EVENTS, 6, 1);
  await admin.disconnect();
  const api = await startApp('api', env, startTimeoutMs);
  // BENCH_WORKERS=2: that many workers processes in the one consumer group (the scaling table)
  const workerCount = withWorkers ? Number(process.env.BENCH_WORKERS ?? 1) : 0;
  const started = await Promise.allSettled(Array.from({ length: workerCount }, () => startApp('workers', { ...env, PUBLIC_URL: api.url }, startTimeoutMs)));
  const all = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    // nothing left running when the stack cannot start
    await Promise.all(all.map((w) => w.stop()));
    await api.stop();
    throw failed.reason;
  }
  return {
    api,
    workers: all[0] ?? null,
    allWorkers: all,
    env,
    async stop() {
      await Promise.all(all.map((w) => w.stop()));
      await api.stop();
    },
  };
}

export const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

/** One keep-alive POST; resolves with status, body text and latency in ms. */
export function post(base: string, path: string, secret: string, body: string, contentType = 'application/json') {
  return new Promise<{ status: number; text: string; ms: number }>((resolve, reject) => {
    const started = performance.now();
    const req = http.request(
      `${base}${path}`,
      { method: 'POST', agent, headers: { Authorization: `Bearer ${secret}`, 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), ms: performance.now() - started }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function benchTenant(apiUrl: string, customers: number, allowance = 1_000_000_000) {
  const pool = createPool(config.DATABASE_URL, 2);
  const tenant = await new TenantService(pool).createTenant(`bench-${Date.now()}`);
  await pool.end();
  const secret = tenant.apiKey.secret;
  const call = async (path: string, body: unknown) => {
    const r = await post(apiUrl, path, secret, JSON.stringify(body));
    if (r.status >= 300) throw new Error(`${path}: ${r.status} ${r.text}`);
    return JSON.parse(r.text) as Record<string, unknown>;
  };
  await call('/v1/sync', {
    features: [
      { slug: 'gpt-4', type: 'metered', name: 'GPT-4' },
      { slug: 'dall-e', type: 'metered', name: 'DALL-E' },
    ],
    creditSystems: [{ slug: 'ai-credits', name: 'AI Credits', features: [{ feature: 'gpt-4', creditCost: 20 }, { feature: 'dall-e', creditCost: 50 }] }],
    creditPacks: [],
    plans: [{ slug: 'bench', name: 'Bench', price: 0, currency: 'USD', interval: 'monthly', features: [{ slug: 'ai-credits', enabled: true, limit: allowance, reset: 'monthly', overage: 'charge' }] }],
  });
  const ids = Array.from({ length: customers }, (_, i) => `bench-c${i}`);
  for (const id of ids) {
    await call('/v1/customers', { id, email: `${id}@bench.example` });
    await call('/v1/attach', { customer: id, product: 'bench' });
  }
  return { tenantId: tenant.tenantId, secret, customers: ids, call };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const summarize = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  return { n: s.length, p50: round(percentile(s, 50)), p99: round(percentile(s, 99)), max: round(s[s.length - 1] ?? Number.NaN) };
};

export const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A usage event as the SDK sends it (about 200 bytes of JSON). */
export const usageEvent = (customer: string, i: number, run: string) => ({
  id: `${run}-${i}`,
  customer,
  feature: i % 5 === 0 ? 'dall-e' : 'gpt-4',
  value: 1,
  properties: { model: 'gpt-4o', region: 'eu' },
});

/**
 * CPU time (user + system, ms) a process and its live descendants used so far, from /proc (Linux):
 * with API_PROCESSES > 1 the API's work is in the node:cluster children, not the primary.
 */
export function processCpuMs(pid: number): number {
  const stats = new Map<number, { ppid: number; ms: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ');
      stats.set(Number(entry), { ppid: Number(fields[1]), ms: ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 }); // USER_HZ 100/s
    } catch {
      // the process ended while the list was read
    }
  }
  let total = 0;
  const pending = [pid];
  while (pending.length > 0) {
    const p = pending.pop()!;
    total += stats.get(p)?.ms ?? 0;
    for (const [child, s] of stats) if (s.ppid === p) pending.push(child);
  }
  return total;
}

export function machine(): string {
  return `${os.cpus().length} vCPU ${os.cpus()[0]?.model ?? '?'}, ${round(os.totalmem() / 2 ** 30, 1)} GiB RAM, Node ${process.version}`;
}
