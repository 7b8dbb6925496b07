import { recordCreditPackPurchases } from '@tally/analytics';
import { listenForPurchaseChanges, PurchaseMirror, PurchaseMirrorRepo } from '@tally/billing';
import type { PeriodicHandlers } from './schedules.ts';
import type { RunningWorkers, WorkersDeps } from './area.ts';

/** Lets the purchases of one burst (a refund right after its completion) go in one insert. */
const WAKE_DELAY_MS = 50;

/**
 * Completed and refunded purchases → ClickHouse credit_pack_purchases_v1:
 * billing selects what Postgres has that ClickHouse lacks, analytics writes it.
 * Woken by the purchases trigger's NOTIFY (about a second behind), and by the
 * "purchase-mirror" periodic job (schedules.ts, PURCHASE_MIRROR_EVERY_MS) whatever
 * happened, so a ClickHouse outage ends in a catch-up, not a loss.
 *
 * The wake-up stays per process: Postgres delivers a NOTIFY to every listening
 * connection, so whichever process hears it syncs at once (routing it through the
 * periodic queue would put it behind a running sweep); sync() takes an advisory
 * lock, so concurrent wake-ups in several processes never insert twice at once.
 */
export async function startPurchaseMirror(deps: WorkersDeps): Promise<RunningWorkers & { periodic: Pick<PeriodicHandlers, 'purchaseMirror'> }> {
  const { config, logger, pool, clickhouse } = deps;
  const mirror = new PurchaseMirror(new PurchaseMirrorRepo(pool), (rows) => recordCreditPackPurchases(clickhouse, config.CLICKHOUSE_DATABASE, rows), logger);
  let stopped = false;
  let wakeTimer: NodeJS.Timeout | null = null;
  const wake = () => {
    if (wakeTimer || stopped) return;
    wakeTimer = setTimeout(() => {
      wakeTimer = null;
      if (stopped) return;
      mirror.sync().catch((err) => logger.warn({ err }, 'purchase mirror: sync failed; the purchases stay pending'));
    }, WAKE_DELAY_MS);
  };
  const listener = listenForPurchaseChanges(pool, wake, logger);

  return {
    // a failed sync throws: the periodic job counts it, the purchases stay pending for the next tick
    periodic: { purchaseMirror: async () => void (await mirror.sync()) },
    beforeWorkersClose: [
      {
        name: 'stop the purchase mirror wake-up',
        run: async () => {
          stopped = true;
          if (wakeTimer) clearTimeout(wakeTimer);
          await listener.close();
          await mirror.settled(); // a running sync finishes before connections close; the next process does the rest
        },
      },
    ],
    afterWorkersClose: [],
  };
}
