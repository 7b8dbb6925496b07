import { createBilling, webhookTargetPolicy } from '@tally/billing';
import { createBalanceServices } from '@tally/metering';
import { createPayments } from '@tally/payments';
import type { PeriodicHandlers } from './schedules.ts';
import type { RunningWorkers, WorkersDeps } from './workers.ts';

/**
 * Renewals of paid plans: `RenewalService.sweep()` every RENEWAL_SWEEP_EVERY_MS,
 * as the "renewals" periodic job (schedules.ts). The sweep is also safe from
 * several processes at once (row locks with SKIP LOCKED, one renewal per
 * subscription and period start).
 */
export async function startRenewals(deps: WorkersDeps): Promise<RunningWorkers & { periodic: Pick<PeriodicHandlers, 'renewals'> }> {
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
  return {
    // the "renewals" periodic job (schedules.ts, RENEWAL_SWEEP_EVERY_MS): once per tick across processes
    periodic: { renewals: async () => void (await billing.renewals.sweep()) },
    beforeWorkersClose: [],
    afterWorkersClose: [{ name: 'close renewal queues', run: () => billing.close() }],
  };
}
