import { Queue } from 'bullmq';
import { z } from 'zod';
import { counter, gauge } from '@tally/runtime';
import { ownBull } from '@tally/redis';
import type { WorkerRegistry } from './registry.ts';

/**
 * Periodic work (sweepers) as BullMQ job schedulers: every workers process
 * upserts the same schedulers, BullMQ keeps one pending job per scheduler in
 * Redis, so each tick runs once in the whole deployment however many workers
 * processes there are, and a killed process's ticks are taken by the others.
 *
 * One queue per job (`tally-periodic-<id>`), each with a global concurrency
 * of 1: a job never overlaps itself (a run longer than its interval delays the
 * next tick, it never doubles it), and a long run of one (a renewal sweep
 * charging cards) never holds up another (the purchase mirror). BullMQ has no
 * per-name concurrency on a shared queue, hence the queue each.
 */
export const PERIODIC_QUEUE_PREFIX = 'tally-periodic';
/** The queue of periodic job `id`: the one place its name is made. */
export const periodicQueueName = (id: string, prefix = PERIODIC_QUEUE_PREFIX) => `${prefix}-${id}`;

const everyMs = (fallback: number) => z.coerce.number().int().min(200).max(86_400_000).default(fallback);

/** Intervals of the periodic jobs (ms). Documented in docs/internals.md "Periodic jobs". */
export const periodicEnv = z.object({
  /** Billing sweep: expire unpaid checkouts (and close them at the provider), re-run stale purchases, requeue stale webhook deliveries. */
  BILLING_SWEEP_EVERY_MS: everyMs(30_000),
  /** Purchase mirror catch-up (Postgres → ClickHouse) behind its LISTEN wake-up. */
  PURCHASE_MIRROR_EVERY_MS: everyMs(10_000),
  /** Strict-path outbox: republish events a check debited but whose API died before Kafka had them. */
  STRICT_OUTBOX_SWEEP_EVERY_MS: everyMs(5_000),
});
/** Ours, plus the renewal sweep's interval, which lives with the renewals settings (RENEWAL_SWEEP_EVERY_MS). */
export type PeriodicConfig = z.infer<typeof periodicEnv> & { RENEWAL_SWEEP_EVERY_MS: number };

export type PeriodicHandler = () => Promise<void>;

/** The handlers each area hands over; the type makes a missing one a compile error. */
export interface PeriodicHandlers {
  billingSweep: PeriodicHandler;
  purchaseMirror: PeriodicHandler;
  strictOutbox: PeriodicHandler;
  renewals: PeriodicHandler;
}

export interface PeriodicJob {
  /** Scheduler id, job name and queue suffix. */
  id: string;
  everyMs: number;
  run: PeriodicHandler;
}

/** Every periodic job of the workers app, in one list. */
export function declareSchedules(config: PeriodicConfig, handlers: PeriodicHandlers): PeriodicJob[] {
  return [
    { id: 'billing-sweep', everyMs: config.BILLING_SWEEP_EVERY_MS, run: handlers.billingSweep },
    { id: 'purchase-mirror', everyMs: config.PURCHASE_MIRROR_EVERY_MS, run: handlers.purchaseMirror },
    { id: 'strict-outbox', everyMs: config.STRICT_OUTBOX_SWEEP_EVERY_MS, run: handlers.strictOutbox },
    { id: 'renewals', everyMs: config.RENEWAL_SWEEP_EVERY_MS, run: handlers.renewals },
  ];
}

const runs = counter('tally_periodic_runs_total', 'Periodic job executions in this process', ['job', 'outcome']);
const lastSeconds = gauge('tally_periodic_last_duration_seconds', 'Duration of the last execution of a periodic job in this process', ['job']);
const lastAt = gauge('tally_periodic_last_run_timestamp_seconds', 'When the last execution of a periodic job in this process ended', ['job']);

/**
 * A killed process's running job is handed to another after this lock
 * expires (BullMQ's stalled-job check); the lock is renewed every half of it
 * while the handler runs, so a long handler keeps it.
 */
const WORKER_OPTIONS = { lockDuration: 10_000, stalledInterval: 3_000, maxStalledCount: 1 };

/**
 * Upserts the schedulers and starts this process's worker for each. A
 * scheduler is never removed here: during a rolling deploy an older process
 * would remove a newer one's (`queue.removeJobScheduler(id)` retires one).
 *
 * A handler that throws fails that execution only (logged, counted, no retry):
 * the scheduler made the next tick's job when this one started.
 */
export async function startSchedules(options: {
  redisUrl: string;
  registry: WorkerRegistry;
  jobs: PeriodicJob[];
  /** Tests only: queues of their own on a shared Redis. */
  queuePrefix?: string;
  /** How often each process checks that every scheduler is still in Redis (ms). */
  watchEveryMs?: number;
}): Promise<{ close: () => Promise<void> }> {
  const { redisUrl, registry, jobs, queuePrefix = PERIODIC_QUEUE_PREFIX, watchEveryMs = 5_000 } = options;
  const scheduled: { queue: Queue; periodic: PeriodicJob }[] = [];
  for (const periodic of jobs) {
    const queue = ownBull(redisUrl, (o) => new Queue(periodicQueueName(periodic.id, queuePrefix), o));
    scheduled.push({ queue, periodic });
    await schedule(queue, periodic);
    registry.register(queue.name, () => runOnce(periodic), 1, WORKER_OPTIONS);
  }
  // A scheduler lives only in Redis: a lost Redis (FLUSHALL, a failover to an empty replica) takes it with it,
  // and nothing would ever tick again - the strict outbox's events would never be republished. So every process
  // looks for each scheduler and puts back a missing one (upserting is idempotent: two processes doing it at
  // once leave one scheduler).
  let watching: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    watching = watching.then(() => restoreMissing(scheduled)).catch(() => undefined); // Redis down: next round
  }, watchEveryMs);
  timer.unref();
  return {
    close: async () => {
      clearInterval(timer);
      await watching;
      await Promise.all(scheduled.map(({ queue }) => queue.close()));
    },
  };
}

const restored = counter('tally_periodic_schedulers_restored_total', 'Job schedulers found missing in Redis and put back', ['job']);

async function schedule(queue: Queue, periodic: PeriodicJob): Promise<void> {
  await queue.setGlobalConcurrency(1);
  await queue.upsertJobScheduler(
    periodic.id,
    { every: periodic.everyMs },
    { name: periodic.id, data: {}, opts: { attempts: 1, removeOnComplete: { count: 50 }, removeOnFail: { count: 50 } } },
  );
}

async function restoreMissing(scheduled: { queue: Queue; periodic: PeriodicJob }[]): Promise<void> {
  for (const { queue, periodic } of scheduled) {
    if (await queue.getJobScheduler(periodic.id)) continue;
    await schedule(queue, periodic);
    restored.labels(periodic.id).inc();
  }
}

async function runOnce(periodic: PeriodicJob): Promise<void> {
  const started = process.hrtime.bigint();
  try {
    await periodic.run();
    runs.labels(periodic.id, 'ok').inc();
  } catch (err) {
    runs.labels(periodic.id, 'failed').inc();
    throw err; // logged by the registry ("job failed", with the queue); the next tick runs as usual
  } finally {
    lastSeconds.labels(periodic.id).set(Number(process.hrtime.bigint() - started) / 1e9);
    lastAt.labels(periodic.id).set(Date.now() / 1000);
  }
}
