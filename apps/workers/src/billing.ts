import {
  CHECKOUT_QUEUE, CHECKOUT_WORKER_OPTIONS, ExpiredCheckouts, WEBHOOKS_QUEUE, checkoutProcessor, createBilling, webhookDeliveryProcessor, webhookTargetPolicy,
  type CheckoutJob, type WebhookDeliveryJob,
} from '@tally/billing';
import { createPayments } from '@tally/payments';
import type { PeriodicHandlers } from './schedules.ts';
import type { RunningWorkers, WorkersDeps } from './area.ts';

/** A purchase untouched this long in pending/charging/paid lost its job (or its job gave up): move it on. */
const STALE_PURCHASE_SECONDS = 120;
const STALE_DELIVERY_SECONDS = 300;

/**
 * Billing's queues: "checkout" (charge a card on file or open a hosted
 * checkout, then grant) and "webhooks" (outbound deliveries). Balance
 * changes from metering's deductions drive balance alerts and auto top-up.
 */
export async function startBilling(deps: WorkersDeps): Promise<RunningWorkers & { periodic: Pick<PeriodicHandlers, 'billingSweep' | 'renewals'> }> {
  const { config, logger, pool, redis, catalog, customers, balances, balanceEvents } = deps;
  const payments = createPayments(pool, config, config.PUBLIC_URL);
  const billing = createBilling({
    pool, redis, redisUrl: config.REDIS_URL, logger, payments, balances, catalog, customers, publicUrl: config.PUBLIC_URL,
    webhookTargets: webhookTargetPolicy(config),
    credentialsKey: config.CREDENTIALS_KEY,
    purchaseExpirySeconds: config.PURCHASE_EXPIRY_SECONDS,
    renewals: config,
  });

  const expiredCheckouts = new ExpiredCheckouts(billing.purchases, billing.providers, logger);

  deps.registry.register<CheckoutJob>(CHECKOUT_QUEUE, checkoutProcessor(billing.checkout), config.WORKER_CONCURRENCY, CHECKOUT_WORKER_OPTIONS);
  deps.registry.register<WebhookDeliveryJob>(WEBHOOKS_QUEUE, webhookDeliveryProcessor(billing.deliveries), config.WORKER_CONCURRENCY);
  const unsubscribe = balanceEvents.onChanged((e) => void billing.onBalanceChanged({ ...e, totalMicro: e.balanceMicro }));

  // Safety net for crashes between two durable steps (purchase row written but job lost,
  // delivery row written but not queued). Every step it re-runs is idempotent. Run by the
  // "billing-sweep" periodic job (schedules.ts): once per tick across all workers processes.
  // Each step runs even when an earlier one failed; the run fails (and is counted) if any did.
  const steps: [string, () => Promise<unknown>][] = [
    ['expire overdue checkouts', () => billing.purchases.expireOverdue()], // unpaid past PURCHASE_EXPIRY_SECONDS
    // after the expiry committed, and whether or not that step failed: a purchase expired on read or by an
    // earlier sweep is still open at Stripe until this succeeds
    ['close expired checkouts at their provider', async () => {
      const { failed } = await expiredCheckouts.closeAtProviders();
      if (failed) throw new Error(`${failed} expired checkout(s) not closed at their provider yet (retried next sweep)`);
    }],
    ['re-run stale purchases', async () => {
      for (const p of await billing.purchases.stale(STALE_PURCHASE_SECONDS)) {
        await billing.checkout.process(p.tenantId, p.id).catch((err) => logger.warn({ err, purchaseId: p.id }, 'stale purchase sweep failed'));
      }
    }],
    ['requeue stale deliveries', () => billing.deliveries.requeueStale(STALE_DELIVERY_SECONDS)],
    ['redeliver hosted checkout events', () => payments.hostedCheckout.redeliverUnacknowledged()],
  ];
  const billingSweep = async () => {
    const failed: { name: string; err: unknown }[] = [];
    for (const [name, step] of steps) await step().catch((err: unknown) => void failed.push({ name, err }));
    // logged once, by the registry's "job failed", with each step's error
    if (failed.length) throw new AggregateError(failed.map((f) => f.err), `billing sweep failed at: ${failed.map((f) => f.name).join('; ')}`);
  };

  return {
    // "renewals" (RENEWAL_SWEEP_EVERY_MS): paid plans at their period end, declined renewals due for a retry;
    // safe from several processes at once (row locks with SKIP LOCKED, one renewal per subscription and period)
    periodic: { billingSweep, renewals: async () => void (await billing.renewals.sweep()) },
    beforeWorkersClose: [{ name: 'stop balance-change hooks', run: async () => unsubscribe() }],
    afterWorkersClose: [{ name: 'close billing queues', run: () => billing.close() }],
  };
}
