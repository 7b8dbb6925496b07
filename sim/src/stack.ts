import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { TenantService } from '@tally/catalog';
import { createPool } from '@tally/postgres';
import { parseConfig, sharedEnv } from '@tally/runtime';
import { PrivateBroker } from './broker.ts';
import { AppProcess, freePort, repoRoot } from './processes.ts';
import { TcpProxy } from './proxy.ts';

export const config = parseConfig(sharedEnv);

export interface StackOptions {
  run: string;
  /** Redis database of this stack: FLUSHALL-style faults flush it alone, never other users' data. */
  redisDb: number;
  /** Run on a Kafka broker of the stack's own (needed by the `broker` fault); the shared broker otherwise. */
  privateBroker?: boolean;
  log: (line: string) => void;
}

/**
 * Two API and two workers processes (one consumer group) on their own Kafka
 * topic and Redis database, with ClickHouse behind a proxy the sim can cut.
 */
export class Stack {
  readonly apis: AppProcess[] = [];
  readonly workers: AppProcess[] = [];
  readonly redis: Redis;
  readonly pool: Pool;
  private readonly tenants: TenantService;

  private constructor(readonly opts: StackOptions, readonly proxy: TcpProxy, readonly env: Record<string, string>, readonly broker: PrivateBroker | null) {
    this.redis = new Redis(env.REDIS_URL!, { maxRetriesPerRequest: 3 });
    this.redis.on('error', () => {});
    this.pool = createPool(config.DATABASE_URL, 4);
    this.tenants = new TenantService(this.pool);
  }

  static async start(opts: StackOptions): Promise<Stack> {
    const ch = new URL(config.CLICKHOUSE_URL);
    const proxy = new TcpProxy(await freePort(), ch.hostname, Number(ch.port || 8123));
    await proxy.up();
    const redisUrl = new URL(config.REDIS_URL);
    redisUrl.pathname = `/${opts.redisDb}`;
    let broker: PrivateBroker | null = null;
    if (opts.privateBroker) {
      const t0 = Date.now();
      broker = await PrivateBroker.create();
      try {
        await broker.start();
      } catch (err) {
        await proxy.down();
        await broker.destroy();
        throw err;
      }
      opts.log(`private Kafka broker on ${broker.address} (storage ${broker.dir}) up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    const env: Record<string, string> = {
      NODE_ENV: 'test',
      ...(broker ? { KAFKA_BROKERS: broker.address } : {}),
      KAFKA_TOPIC_EVENTS: `tally.usage-events.sim-${opts.run}`,
      KAFKA_CONSUMER_GROUP: `tally-metering-sim-${opts.run}`,
      REDIS_URL: redisUrl.toString(),
      CLICKHOUSE_URL: `http://127.0.0.1:${proxy.port}`,
    };
    const stack = new Stack(opts, proxy, env, broker);
    await stack.redis.flushdb();
    // migrations first (Postgres, ClickHouse, and this run's topic), straight at ClickHouse
    try {
      migrate({ ...env, CLICKHOUSE_URL: config.CLICKHOUSE_URL });
    } catch (err) {
      await stack.stop();
      throw err;
    }
    const apiPorts = [await freePort(), await freePort()];
    const publicUrl = `http://127.0.0.1:${apiPorts[0]}`;
    for (const [i, port] of apiPorts.entries()) stack.apis.push(new AppProcess(`api-${i + 1}`, 'api', port, { ...env, PUBLIC_URL: publicUrl }));
    for (let i = 0; i < 2; i++) stack.workers.push(new AppProcess(`workers-${i + 1}`, 'workers', await freePort(), { ...env, PUBLIC_URL: publicUrl }));
    // two at a time: four tsx start-ups at once would starve a 2-core machine
    try {
      await Promise.all(stack.apis.map((a) => a.start()));
      await Promise.all(stack.workers.map((w) => w.start()));
    } catch (err) {
      await stack.stop(); // never leave a started process behind
      throw err;
    }
    opts.log(`stack: ${stack.apis.map((a) => a.url).join(', ')} + workers ${stack.workers.map((w) => w.url).join(', ')}; topic ${env.KAFKA_TOPIC_EVENTS}${broker ? ` on ${broker.address}` : ''}; redis db ${opts.redisDb}; clickhouse via :${proxy.port}`);
    return stack;
  }

  get processes(): AppProcess[] {
    return [...this.apis, ...this.workers];
  }

  async newTenant(name: string): Promise<{ tenantId: string; secret: string }> {
    const t = await this.tenants.createTenant(`${name}-${Date.now()}`);
    return { tenantId: t.tenantId, secret: t.apiKey.secret };
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop('SIGTERM').catch(() => undefined)));
    await this.proxy.down();
    await this.broker?.destroy();
    this.redis.disconnect();
    await this.pool.end();
  }
}

/** Runs the migrations (Postgres, ClickHouse, the run's topic); a fresh topic's metadata may lag, so up to 3 tries. */
function migrate(env: Record<string, string>): void {
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync(process.execPath, ['--import', 'tsx', 'apps/api/src/cli/migrate.ts'], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: 'pipe' });
      return;
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? String(err);
      if (attempt >= 3) throw new Error(`migrate failed:\n${stderr.slice(-2000)}`);
    }
  }
}

/** A query straight to ClickHouse (never through the proxy), rows as JSON objects. */
export async function clickhouseRows<T>(query: string): Promise<T[]> {
  const url = new URL(config.CLICKHOUSE_URL);
  url.searchParams.set('database', config.CLICKHOUSE_DATABASE);
  const res = await fetch(url, {
    method: 'POST',
    body: `${query} FORMAT JSON`,
    headers: { 'X-ClickHouse-User': config.CLICKHOUSE_USER, 'X-ClickHouse-Key': config.CLICKHOUSE_PASSWORD ?? '' },
  });
  if (!res.ok) throw new Error(`clickhouse: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { data: T[] }).data;
}
