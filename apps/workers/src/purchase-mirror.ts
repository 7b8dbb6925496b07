import { recordCreditPackPurchases } from '@tally/analytics';
import { listenForPurchaseChanges, PurchaseMirror } from '@tally/billing';
import type { RunningWorkers, WorkersDeps } from './workers.ts';

/** The safety net behind the LISTEN wake-up: catch-up after ClickHouse (or the connection) was away. */
const MIRROR_EVERY_MS = 10_000;
/** Lets the purchases of one burst (a refund right after its completion) go in one insert. */
const WAKE_DELAY_MS = 50;

/**
 * Completed and refunded purchases → ClickHouse credit_pack_purchases_v1:
 * billing selects what Postgres has that ClickHouse lacks, analytics writes it.
 * Woken by the purchases trigger's NOTIFY (about a second behind), and every
 * 10 s whatever happened (so a ClickHouse outage ends in a catch-up, not a loss).
 */
export async function startPurchaseMirror(deps: WorkersDeps): Promise<RunningWorkers> {
  const { config, logger, pool, clickhouse } = deps;
  const mirror = new PurchaseMirror(pool, (rows) => recordCreditPackPurchases(clickhouse, config.CLICKHOUSE_DATABASE, rows), logger);
  let stopped = false;
  const run = () => {
    if (stopped) return;
    mirror.sync().catch((err) => logger.warn({ err }, 'purchase mirror: sync failed; the purchases stay pending'));
  };
  let wakeTimer: NodeJS.Timeout | null = null;
  const wake = () => {
    if (wakeTimer) return;
    wakeTimer = setTimeout(() => {
      wakeTimer = null;
      run();
    }, WAKE_DELAY_MS);
  };
  const listener = listenForPurchaseChanges(pool, wake, logger);
  const timer = setInterval(run, MIRROR_EVERY_MS);
  timer.unref();
  run();

  return {
    beforeWorkersClose: [
      {
        name: 'stop the purchase mirror',
        run: async () => {
          stopped = true;
          clearInterval(timer);
          if (wakeTimer) clearTimeout(wakeTimer);
          await listener.close();
          await mirror.settled(); // a running sweep finishes before connections close; the next process does the rest
        },
      },
    ],
    afterWorkersClose: [],
  };
}
