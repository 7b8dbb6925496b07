import http from 'node:http';
import { ConfigError, Shutdown, checkReadiness, createLogger, metricsRefusal, metricsRegistry, opsAccess, readinessView } from '@tally/runtime';
import { createPool, postgresProbe } from '@tally/postgres';
import { createRedis, redisProbe, RedisBalanceChannel, RedisChangeBus } from '@tally/redis';
import { broadcastBalanceChanges, createBalanceServices, LocalBalanceEvents } from '@tally/metering';
import { CatalogRepo, CatalogService, CustomerRepo, CustomerService, catalogDirectory, type StateChange } from '@tally/catalog';
import { clickHouseFromEnv, clickhouseProbe } from '@tally/clickhouse';
import { createKafka, KafkajsAdmin, kafkaProbe } from '@tally/kafka';
import { loadWorkersConfig } from './config.ts';
import { WorkerRegistry } from './registry.ts';
import { startWorkers } from './workers.ts';

async function main(): Promise<void> {
  const config = loadWorkersConfig();
  const logger = createLogger('tally-workers', config.LOG_LEVEL);
  const pool = createPool(config.DATABASE_URL);
  const redis = createRedis(config.REDIS_URL);
  redis.on('error', () => {});
  const clickhouse = clickHouseFromEnv(config);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-workers`, logger });
  const admin = new KafkajsAdmin(kafka);
  const probes = [postgresProbe(pool), redisProbe(redis), clickhouseProbe(clickhouse), kafkaProbe(admin)];

  const registry = new WorkerRegistry(config.REDIS_URL, logger);
  const changes = new RedisChangeBus<StateChange>(redis, config.REDIS_URL);
  const catalog = new CatalogService(new CatalogRepo(pool), { changes, maxTenants: config.CACHE_MAX_TENANTS });
  const customers = new CustomerService(new CustomerRepo(pool), catalog, { changes, maxEntries: config.CACHE_MAX_CUSTOMERS });
  // each shared service once per process: the areas get them injected (area.ts)
  const directory = catalogDirectory(catalog, customers);
  // the process's one balance-changed signal: the deduct pipeline and grants report to it, billing's hooks listen
  const balanceEvents = new LocalBalanceEvents();
  const { rebuilder, balances } = createBalanceServices({ redis, pool, clickhouse, directory, logger, clickhouseDatabase: config.CLICKHOUSE_DATABASE, events: balanceEvents });
  // debits and grants here reach the dashboard's balance streams in the API processes
  const balanceSignal = new RedisBalanceChannel(redis, config.REDIS_URL);
  broadcastBalanceChanges(balanceEvents, balanceSignal);
  const running = await startWorkers({ config, logger, pool, redis, clickhouse, kafka, registry, catalog, customers, directory, rebuilder, balances, balanceEvents });

  // Liveness, readiness and metrics for the workers process; details and metrics with METRICS_TOKEN only.
  const server = http.createServer(async (req, res) => {
    const access = opsAccess(req.headers.authorization, config.METRICS_TOKEN);
    if (req.url === '/healthz') return void res.end('{"ok":true}');
    if (req.url === '/readyz') {
      const r = await checkReadiness(probes);
      res.writeHead(r.ok ? 200 : 503, { 'Content-Type': 'application/json' });
      return void res.end(JSON.stringify(readinessView(r, access)));
    }
    if (req.url === '/metrics') {
      if (access !== 'granted') {
        const refusal = metricsRefusal(access);
        res.writeHead(refusal.status, { 'Content-Type': 'application/json' });
        return void res.end(JSON.stringify(refusal.body));
      }
      res.writeHead(200, { 'Content-Type': metricsRegistry.contentType });
      return void res.end(await metricsRegistry.metrics());
    }
    res.writeHead(404).end();
  });
  server.listen(config.WORKERS_PORT, config.WORKERS_HOST, () => logger.info({ port: config.WORKERS_PORT }, 'workers ready'));

  // Order matters: stop consuming from Kafka first (its in-flight batch is handed
  // to BullMQ and its offsets committed), then let BullMQ workers finish their
  // jobs and flush buffered ClickHouse rows, then close connections.
  const shutdown = new Shutdown(logger);
  for (const step of running.beforeWorkersClose) shutdown.add(step.name, step.run);
  shutdown.add('close bullmq workers', () => registry.close());
  for (const step of running.afterWorkersClose) shutdown.add(step.name, step.run);
  shutdown
    .add('close health server', () => new Promise<void>((r) => server.close(() => r())))
    .add('close connections', async () => {
      await admin.disconnect().catch(() => {});
      await clickhouse.close();
      changes.close();
      await balanceSignal.close();
      redis.disconnect();
      await pool.end();
    });
  shutdown.listen();
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
