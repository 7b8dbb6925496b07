import { execFile, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import type { Pool } from 'pg';
import { TenantService } from '@tally/catalog';
import { createPool } from '@tally/postgres';
import { parseConfig, sharedEnv } from '@tally/runtime';
import { PrivateBroker } from './broker.ts';
import path from 'node:path';
import { AppProcess, freePort, repoRoot } from './processes.ts';
import { TcpProxy } from './proxy.ts';
import type { Rng } from './rng.ts';

export const config = parseConfig(sharedEnv);
const run = promisify(execFile);

/**
 * `default`: the shared single Redis (a database of the stack's own) and Kafka
 * broker (or a private one for the `broker` fault). `cluster`: Redis Cluster
 * of 3 masters and Kafka of 3 brokers (RF 3, min.insync.replicas 2) as
 * `TALLY_PROFILE=cluster bash deploy/local/services.sh up` starts them; a
 * cluster has one database, so the sim owns it for the run.
 */
export type Profile = 'default' | 'cluster';
export const CLUSTER = {
  redisUrl: process.env.SIM_REDIS_CLUSTER_URL ?? 'redis+cluster://127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003',
  kafkaBrokers: process.env.SIM_KAFKA_CLUSTER_BROKERS ?? '127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094',
};

export interface StackOptions {
  run: string;
  /** Redis database of this stack (default profile): flush faults flush it alone, never other users' data. */
  redisDb: number;
  /** Run on a Kafka broker of the stack's own (default profile, needed by the `broker` fault); the shared broker otherwise. */
  privateBroker?: boolean;
  profile?: Profile;
  log: (line: string) => void;
}

/** `redis+cluster://h:p,h:p` (the cluster profile's REDIS_URL) to its seed nodes. */
export function clusterNodes(url: string): { host: string; port: number }[] {
  const m = /^redis\+cluster:\/\/([^/?#]+)/.exec(url);
  if (!m) throw new Error(`not a redis+cluster:// URL: ${url}`);
  return m[1]!.split(',').map((hp) => {
    const [host, port] = hp.split(':');
    return { host: host!, port: Number(port || 6379) };
  });
}

/**
 * Two API and two workers processes (one consumer group) on their own Kafka
 * topic and Redis database, with ClickHouse behind a proxy the sim can cut.
 */
export class Stack {
  readonly apis: AppProcess[] = [];
  readonly workers: AppProcess[] = [];
  readonly redis: Redis | Cluster;
  readonly pool: Pool;
  readonly profile: Profile;
  private readonly tenants: TenantService;

  private constructor(readonly opts: StackOptions, readonly proxy: TcpProxy, readonly env: Record<string, string>, readonly broker: PrivateBroker | null) {
    this.profile = opts.profile ?? 'default';
    this.redis = this.profile === 'cluster'
      ? new Cluster(clusterNodes(env.REDIS_URL!), { redisOptions: { maxRetriesPerRequest: 3 } })
      : new Redis(env.REDIS_URL!, { maxRetriesPerRequest: 3 });
    this.redis.on('error', () => {});
    this.pool = createPool(config.DATABASE_URL, 4);
    this.tenants = new TenantService(this.pool);
  }

  static async start(opts: StackOptions): Promise<Stack> {
    const cluster = opts.profile === 'cluster';
    const ch = new URL(config.CLICKHOUSE_URL);
    const proxy = new TcpProxy(await freePort(), ch.hostname, Number(ch.port || 8123));
    await proxy.up();
    const redisUrl = new URL(config.REDIS_URL);
    redisUrl.pathname = `/${opts.redisDb}`;
    let broker: PrivateBroker | null = null;
    if (opts.privateBroker && !cluster) {
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
      ...(cluster ? { KAFKA_BROKERS: CLUSTER.kafkaBrokers, KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: '2' } : {}),
      KAFKA_TOPIC_EVENTS: `tally.usage-events.sim-${opts.run}`,
      KAFKA_CONSUMER_GROUP: `tally-metering-sim-${opts.run}`,
      REDIS_URL: cluster ? CLUSTER.redisUrl : redisUrl.toString(),
      CLICKHOUSE_URL: `http://127.0.0.1:${proxy.port}`,
    };
    const stack = new Stack(opts, proxy, env, broker);
    // a cluster client knows its masters once it has read the slots
    if (stack.redis instanceof Cluster && stack.redis.status !== 'ready') await once(stack.redis, 'ready');
    await stack.flushRedis();
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
    const where = cluster ? ` on Kafka ${env.KAFKA_BROKERS} (RF 3, min.insync 2); ${env.REDIS_URL}` : `${broker ? ` on ${broker.address}` : ''}; redis db ${opts.redisDb}`;
    opts.log(`stack (${stack.profile}): ${stack.apis.map((a) => a.url).join(', ')} + workers ${stack.workers.map((w) => w.url).join(', ')}; topic ${env.KAFKA_TOPIC_EVENTS}${where}; clickhouse via :${proxy.port}`);
    return stack;
  }

  /** Whether the `broker` fault has brokers to restart: a private one, or the cluster's three. */
  get canRestartBroker(): boolean {
    return this.broker !== null || this.profile === 'cluster';
  }

  /** Each Redis server the stack's data is on (the cluster's masters, or the one server). */
  private masters(): Redis[] {
    return this.redis instanceof Cluster ? this.redis.nodes('master') : [this.redis];
  }

  /**
   * Everything in the stack's Redis lost, BullMQ included: FLUSHDB of its own
   * database (default profile: other users of the server keep theirs), or of
   * every master of the cluster (which the sim owns during a run).
   */
  async flushRedis(): Promise<string> {
    const masters = this.masters();
    await Promise.all(masters.map((m) => m.flushdb()));
    return this.redis instanceof Cluster ? `FLUSHDB on each of the ${masters.length} cluster masters` : `FLUSHDB (the stack's Redis database)`;
  }

  /** Every Redis key of one customer deleted, as a partial loss would (one hash tag: one slot, on one master). */
  async deleteCustomerKeys(tenantId: string, customer: string): Promise<string> {
    const pattern = `tally:{${tenantId}:${customer}}:*`.replace(/[?[\]\\]/g, (c) => `\\${c}`);
    let deleted = 0;
    for (const node of this.masters()) {
      let cursor = '0';
      do {
        const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (found.length) deleted += await node.del(...found);
      } while (cursor !== '0');
    }
    return `deleted ${deleted} Redis keys of ${customer}`;
  }

  /**
   * The `broker` fault. Default profile: the stack's private broker stopped
   * (SIGTERM, a controlled shutdown, or SIGKILL), down 0.2-3 s, then started
   * again on the same storage; produces fail meanwhile (503, retried).
   * Cluster: one of the 3 brokers SIGKILLed, down 5-20 s, then started again
   * (deploy/local's kill-broker / start-broker); with min.insync.replicas 2
   * produces go on meanwhile. Draws its choices now; `done` ends with the restart.
   */
  restartBroker(rng: Rng): { what: string; done: Promise<string> } {
    const t0 = Date.now();
    if (this.profile === 'cluster') {
      const n = rng.int(1, 3);
      const downMs = rng.int(5000, 20_000);
      const services = path.join(repoRoot, 'deploy/local/services.sh');
      const envs = { ...process.env, TALLY_PROFILE: 'cluster' };
      const done = (async () => {
        await run('bash', [services, 'kill-broker', String(n)], { env: envs, timeout: 90_000 });
        await new Promise((r) => setTimeout(r, downMs));
        await run('bash', [services, 'start-broker', String(n)], { env: envs, timeout: 180_000 });
        return `Kafka broker ${n} of 3 back after ${((Date.now() - t0) / 1000).toFixed(1)} s`;
      })();
      return { what: `Kafka broker ${n} of 3 SIGKILL, down ${downMs} ms`, done };
    }
    const broker = this.broker;
    if (!broker) throw new Error('the broker fault needs a stack with its own broker (Stack.start({ privateBroker: true }))');
    const signal = rng.chance(0.5) ? 'SIGTERM' : 'SIGKILL';
    const pauseMs = rng.int(200, 3000);
    const done = (async () => {
      await broker.stop(signal);
      await new Promise((r) => setTimeout(r, pauseMs));
      await broker.start();
      return `Kafka broker back after ${((Date.now() - t0) / 1000).toFixed(1)} s`;
    })();
    return { what: `Kafka broker ${signal}, down ${pauseMs} ms`, done };
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
