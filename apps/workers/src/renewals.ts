import { createBilling, webhookTargetPolicy } from '@tally/billing';
import { createBalanceServices } from '@tally/metering';
import { createPayments } from '@tally/payments';
import type { RunningWorkers, WorkersDeps } from './workers.ts';

/**
 * Renewals of paid plans: `RenewalService.sweep()` every RENEWAL_SWEEP_EVERY_MS.
 * The sweep is safe from several processes at once (row locks with SKIP LOCKED,
 * one renewal per subscription and period start); the "schedulers" work moves it
 * to a BullMQ job scheduler.
 */
export async function startRenewals(deps: WorkersDeps): Promise<RunningWorkers> {
  const { config, logger, pool, redis, catalog, customers } = deps;
  const { balances } = createBalanceServices({
    redis,
    pool,
    clickhouse: deps.clickhouse,
    directory: { snapshot: (t) => catalog.snapshot(t), context: (t, c) => customers.context(t, c) },
    logger,
    clickhouseDatabase: config.CLICKHOUSE_DATABASE,
  });
  const billing = createBilling({
    pool, redis, redisUrl: config.REDIS_URL, logger, payments: createPayments(pool, config, config.PUBLIC_URL), balances, catalog,
    customers: { context: (t, c) => customers.context(t, c), invalidate: (t, c) => customers.invalidate(t, c) },
    publicUrl: config.PUBLIC_URL,
    webhookTargets: webhookTargetPolicy(config),
    credentialsKey: config.CREDENTIALS_KEY,
    renewals: config,
  });
  let running: Promise<unknown> | null = null;
  const tick = () => {
    if (running) return;
    running = billing.renewals
      .sweep()
      .catch((err) => logger.warn({ err }, 'renewal sweep failed'))
      .finally(() => (running = null));
  };
  const timer = setInterval(tick, config.RENEWAL_SWEEP_EVERY_MS);
  timer.unref();
  return {
    beforeWorkersClose: [{ name: 'stop renewal sweep', run: async () => { clearInterval(timer); await running; } }],
    afterWorkersClose: [{ name: 'close renewal queues', run: () => billing.close() }],
  };
}
