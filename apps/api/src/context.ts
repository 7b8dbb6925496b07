import { boundCommands, createLogger, type Logger, type Probe } from '@tally/runtime';
import { createPool, postgresProbe } from '@tally/postgres';
import { createRedis, redisProbe, RedisBalanceChannel, RedisChangeBus } from '@tally/redis';
import { clickHouseFromEnv, clickhouseProbe } from '@tally/clickhouse';
import { createKafka, KafkajsAdmin, KafkajsProducer, kafkaProbe } from '@tally/kafka';
import { CatalogRepo, CatalogService, CustomerRepo, CustomerService, SubscriptionRepo, SubscriptionService, TenantService, catalogDirectory, type StateChange } from '@tally/catalog';
import { createPayments, type Payments } from '@tally/payments';
import { createBilling, webhookTargetPolicy, type Billing } from '@tally/billing';
import { broadcastBalanceChanges, createBalanceServices, createDeadLetterService, LocalBalanceEvents, type BalanceService, type DeadLetterService } from '@tally/metering';
import { createMeteringApi, type MeteringApi } from '@tally/metering';
import { PlatformaticProducer } from '@tally/kafka';
import { createAnalyticsApi, importDirs, importRoot, type AnalyticsApi } from '@tally/analytics';
import type { ApiConfig } from './config.ts';
import { limitCustomerCreation } from './http/customer-creation-limit.ts';
import { WindowLimiter } from './http/rate-limit.ts';
import { createTenantRateLimits, type TenantRateLimits } from './http/rate-limit-tenant.ts';
import { CatalogExtras } from './routes/catalog-extras.ts';
import { CustomerReads } from './routes/customer-queries.ts';
import { createSessions, type SessionService } from './dashboard/index.ts';

/** Everything the API's routes need, built once at start-up. */
export interface ApiContext {
  config: ApiConfig;
  logger: Logger;
  /** Readiness (/readyz): Postgres, Redis, ClickHouse, Kafka. */
  probes: Probe[];
  tenants: TenantService;
  catalog: CatalogService;
  customers: CustomerService;
  /** Billing wires its plan checkout with subscriptions.setPlanCheckout(...). */
  subscriptions: SubscriptionService;
  /** Purchased credits and balances in Redis (metering). */
  balances: BalanceService;
  /** Payment providers (sandbox, Stripe) and the sandbox hosted checkout. */
  payments: Payments;
  /** Credit packs for sale: addon, wallet, refunds, webhooks, auto top-up. */
  billing: Billing;
  /** /v1/track and /v1/check (metering). */
  metering: MeteringApi;
  /** /v1/imports, /v1/usage and the rollup repair (analytics). */
  analytics: AnalyticsApi;
  /** Limits counted in Redis across API processes (docs/security.md). */
  limits: { authFailures: WindowLimiter; customerCreation: WindowLimiter };
  /** Per-tenant rates (the /v1 middleware) and their overrides (the admin routes). */
  rateLimits: TenantRateLimits;
  /** The operator's customer list and balance detail reads. */
  customerReads: CustomerReads;
  /** GET /v1/catalog: what sync keeps that the cached snapshot does not hold. */
  catalogExtras: CatalogExtras;
  /** GET /v1/dead-letters and their replay (metering). */
  deadLetters: DeadLetterService;
  /** Dashboard sessions (apps/api/src/dashboard). */
  sessions: SessionService;
  /** Balance changes of every process (GET /v1/customers/:id/balance-stream). */
  balanceSignal: RedisBalanceChannel;
  close(): Promise<void>;
}

export async function createApiContext(config: ApiConfig): Promise<ApiContext> {
  const logger = createLogger('tally-api', config.LOG_LEVEL);
  const pool = createPool(config.DATABASE_URL);
  // every command a request sends waits at most what is left of its budget (scripts, plain commands alike)
  const redis = boundCommands(createRedis(config.REDIS_URL));
  redis.on('error', () => {}); // readiness and 503s report it; reconnects on its own
  const clickhouse = clickHouseFromEnv(config);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-api`, logger });
  // lanes: several idempotent producers, so big ingest sends go out in parallel (packages/kafka/src/kafkajs.ts)
  const producer = new KafkajsProducer(kafka, { lanes: 3 });
  const admin = new KafkajsAdmin(kafka);
  await producer.connect().catch((err) => logger.warn({ err }, 'kafka not reachable at start-up; will retry per request'));

  // a sync, attach or customer change in any process reaches every process's caches at once
  const changes = new RedisChangeBus<StateChange>(redis, config.REDIS_URL);
  // this process's balance changes (the check path, grants) go to every process; streams listen to it
  const balanceSignal = new RedisBalanceChannel(redis, config.REDIS_URL);
  // the process's one balance-changed signal: the check path and grants report to it, billing's hooks listen
  const balanceEvents = new LocalBalanceEvents();
  broadcastBalanceChanges(balanceEvents, balanceSignal);
  // every per-tenant and per-customer cache is capped (docs/operations.md "Memory bounds")
  const catalog = new CatalogService(new CatalogRepo(pool), { changes, maxTenants: config.CACHE_MAX_TENANTS });
  const customers = new CustomerService(new CustomerRepo(pool), catalog, { changes, maxEntries: config.CACHE_MAX_CUSTOMERS });
  const tenants = new TenantService(pool, { changes, cache: { maxKnown: config.CACHE_MAX_TENANTS } });
  const limits = {
    authFailures: new WindowLimiter(redis, 'auth-failures', config.AUTH_FAILURES_PER_MINUTE),
    customerCreation: new WindowLimiter(redis, 'customers-created', config.CUSTOMERS_PER_MINUTE),
  };
  const rateLimits = createTenantRateLimits({ pool, redis, logger, config });
  const ensureCustomer = limitCustomerCreation(customers, limits.customerCreation);
  const subscriptions = new SubscriptionService(new SubscriptionRepo(pool), catalog, customers);
  // one directory and one Rebuilder for the process: the balance side and /v1/track, /v1/check share them
  const directory = { ...catalogDirectory(catalog, customers), ensure: ensureCustomer };
  const { rebuilder, balances } = createBalanceServices({ redis, pool, clickhouse, directory, logger, clickhouseDatabase: config.CLICKHOUSE_DATABASE, events: balanceEvents });
  const payments = createPayments(pool, config, config.publicUrl);
  const billing = createBilling({
    pool, redis, redisUrl: config.REDIS_URL, logger, payments, balances, catalog, publicUrl: config.publicUrl,
    webhookTargets: webhookTargetPolicy(config),
    credentialsKey: config.CREDENTIALS_KEY,
    purchaseExpirySeconds: config.PURCHASE_EXPIRY_SECONDS,
    renewals: config,
    customers: { context: (t, c) => customers.context(t, c), ensure: ensureCustomer, invalidate: (t, c) => customers.invalidate(t, c) },
  });
  balanceEvents.onChanged((e) => void billing.onBalanceChanged({ ...e, totalMicro: e.balanceMicro }));
  // Paid plans in /v1/attach go through billing's providers; their webhook activates the subscription.
  subscriptions.setPlanCheckout(billing.planCheckout);
  billing.providerWebhooks.setPlanActivation((reference, tenantId) => subscriptions.activateSubscription(reference, tenantId));

  const metering = createMeteringApi({
    redis,
    pool,
    clickhouse,
    directory,
    rebuilder,
    logger,
    clickhouseDatabase: config.CLICKHOUSE_DATABASE,
    events: balanceEvents,
    producer:
      config.KAFKA_PRODUCER_CLIENT === 'platformatic'
        ? new PlatformaticProducer({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-api-usage` })
        : producer,
    topic: config.KAFKA_TOPIC_EVENTS,
    knownCustomersMax: config.CACHE_MAX_CUSTOMERS,
  });
  const analytics = createAnalyticsApi({
    pool,
    redis,
    redisUrl: config.REDIS_URL,
    clickhouse,
    clickhouseDatabase: config.CLICKHOUSE_DATABASE,
    importQueue: config.IMPORT_QUEUE,
    // the upload spool folder is shared with the workers (same machine)
    dataDir: importDirs(importRoot(config)),
    importLimits: {
      maxBytes: config.IMPORT_MAX_BYTES,
      maxRatio: config.IMPORT_MAX_COMPRESSION_RATIO,
      tenantQuotaBytes: config.IMPORT_TENANT_SPOOL_QUOTA_BYTES,
    },
  });

  const deadLetters = createDeadLetterService({
    pool,
    clickhouse,
    clickhouseDatabase: config.CLICKHOUSE_DATABASE,
    // a deduct payload set aside for failing validation is replayed by publishing its events again
    events: { producer, topic: config.KAFKA_TOPIC_EVENTS },
  });

  return {
    metering,
    analytics,
    config,
    logger,
    probes: [postgresProbe(pool), redisProbe(redis), clickhouseProbe(clickhouse), kafkaProbe(admin)],
    tenants,
    limits,
    rateLimits,
    customerReads: new CustomerReads(pool, clickhouse, config.CLICKHOUSE_DATABASE),
    catalogExtras: new CatalogExtras(pool),
    deadLetters,
    sessions: createSessions(pool, config.DASHBOARD_SESSION_TTL_SECONDS),
    balanceSignal,
    catalog,
    customers,
    subscriptions,
    balances,
    payments,
    billing,
    async close() {
      rateLimits.close();
      await metering.close().catch(() => {});
      await analytics.close().catch(() => {});
      await billing.close().catch(() => {});
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
      await clickhouse.close();
      changes.close();
      await balanceSignal.close();
      redis.disconnect();
      await pool.end();
    },
  };
}
