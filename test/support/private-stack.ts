import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRedis, isClusterUrl, type RedisClient } from '@tally/redis';
import { startLocalCluster } from '@tally/redis/local-cluster';
import { freePort, startApp, type AppProcess } from './processes.ts';

/**
 * A stack of its own for suites that break things other suites rely on
 * (FLUSHALL, kill -9): a private redis-server on a free port, its own Kafka
 * topic and consumer group, and as many API and workers processes as asked.
 * PostgreSQL, ClickHouse and the Kafka broker are the shared ones.
 * On the cluster profile (REDIS_URL=redis+cluster://…) the private Redis is a
 * private 3-master Cluster, so these suites exercise the Cluster too.
 */
export interface PrivateStack {
  env: Record<string, string>;
  apis: AppProcess[];
  workers: AppProcess[];
  redis: RedisClient;
  /** kill -9 of one process, then a new one with the same env (its URL changes for an API). */
  restart(kind: 'api' | 'workers', i: number): Promise<AppProcess>;
  stop(): Promise<void>;
}

async function startRedis(): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return { port, child };
    } catch {
      probe.disconnect();
      if (Date.now() > deadline) throw new Error('private redis-server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function privateStack(options: { apis: number; workers: number; env?: Record<string, string> }): Promise<PrivateStack> {
  const run = randomUUID().slice(0, 8);
  const privateRedis = isClusterUrl(process.env.REDIS_URL ?? '') ? await startLocalCluster(3) : await startRedis();
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    REDIS_URL: 'url' in privateRedis ? privateRedis.url : `redis://127.0.0.1:${privateRedis.port}`,
    KAFKA_TOPIC_EVENTS: `tally.usage-events.private-${run}`,
    KAFKA_CONSUMER_GROUP: `tally-metering-private-${run}`,
    // local webhook receivers on 127.0.0.1, as in global-setup.ts
    WEBHOOK_ALLOW_HTTP: 'true',
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    ...options.env,
  };
  const { execFileSync } = await import('node:child_process');
  execFileSync(process.execPath, ['--import', 'tsx', 'apps/api/src/cli/migrate.ts'], { env: { ...process.env, ...env }, encoding: 'utf8' });
  const apis: AppProcess[] = [];
  for (let i = 0; i < options.apis; i++) apis.push(await startApp('api', env));
  env.PUBLIC_URL = apis[0]!.url;
  const workers: AppProcess[] = [];
  for (let i = 0; i < options.workers; i++) workers.push(await startApp('workers', env));
  const redis = createRedis(env.REDIS_URL!, { maxRetriesPerRequest: 3, enableOfflineQueue: true });
  redis.on('error', () => {});
  return {
    env,
    apis,
    workers,
    redis,
    async restart(kind, i) {
      const list = kind === 'api' ? apis : workers;
      await list[i]!.stop('SIGKILL');
      list[i] = await startApp(kind, env);
      return list[i]!;
    },
    async stop() {
      for (const p of [...workers, ...apis]) await p.stop('SIGKILL');
      redis.disconnect();
      if ('url' in privateRedis) return privateRedis.stop();
      const exited = once(privateRedis.child, 'exit');
      privateRedis.child.kill('SIGKILL');
      await exited;
    },
  };
}
