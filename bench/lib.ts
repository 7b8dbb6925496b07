/**
 * Shared bench helpers: a private stack (API + workers on their own Kafka
 * topic, consumer group and deduct queue), a tenant with the seed catalog,
 * a keep-alive HTTP client and percentiles. Everything points at 127.0.0.1.
 */
import { readFileSync } from 'node:fs';
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
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startStack(withWorkers = true, extraEnv: Record<string, string> = {}): Promise<Stack> {
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
  const api = await startApp('api', env);
  const workers = withWorkers ? await startApp('workers', { ...env, PUBLIC_URL: api.url }) : null;
  return {
    api,
    workers,
    env,
    async stop() {
      await workers?.stop();
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

/** CPU time (user + system, ms) a process used so far, from /proc (Linux). */
export function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in USER_HZ (100/s)
}

export function machine(): string {
  return `${os.cpus().length} vCPU ${os.cpus()[0]?.model ?? '?'}, ${round(os.totalmem() / 2 ** 30, 1)} GiB RAM, Node ${process.version}`;
}
