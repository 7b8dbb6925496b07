import { Queue, type Job } from 'bullmq';
import { z } from 'zod';
import { counter, gauge, type Logger } from '@tally/runtime';
import { bullConnection } from '@tally/redis';
import type { WorkerRegistry } from './registry.ts';

/**
 * Periodic work (sweepers) as BullMQ job schedulers: every workers process
 * upserts the same schedulers on one queue, BullMQ keeps one job per
 * scheduler in Redis, so each tick runs once in the whole deployment however
 * many workers processes there are, and a killed process's ticks are taken by
 * the others.
 */
export const PERIODIC_QUEUE = 'tally-periodic';

const everyMs = (fallback: number) => z.coerce.number().int().min(200).max(86_400_000).default(fallback);

/** Intervals of the periodic jobs (ms). Documented in docs/internals.md "Periodic jobs". */
export const periodicEnv = z.object({
  /** Billing sweep: expire unpaid checkouts (and close them at the provider), re-run stale purchases, requeue stale webhook deliveries. */
  BILLING_SWEEP_EVERY_MS: everyMs(30_000),
  /** Purchase mirror catch-up (Postgres → ClickHouse) behind its LISTEN wake-up. */
  PURCHASE_MIRROR_EVERY_MS: everyMs(10_000),
});
export type PeriodicConfig = z.infer<typeof periodicEnv>;

export type PeriodicHandler = () => Promise<void>;

/** The handlers each area hands over; the type makes a missing one a compile error. */
export interface PeriodicHandlers {
  billingSweep: PeriodicHandler;
  purchaseMirror: PeriodicHandler;
}

export interface PeriodicJob {
  /** Scheduler id and job name. */
  id: string;
  everyMs: number;
  run: PeriodicHandler;
}

/** Every periodic job of the workers app, in one list. */
export function declareSchedules(config: PeriodicConfig, handlers: PeriodicHandlers): PeriodicJob[] {
  return [
    { id: 'billing-sweep', everyMs: config.BILLING_SWEEP_EVERY_MS, run: handlers.billingSweep },
    { id: 'purchase-mirror', everyMs: config.PURCHASE_MIRROR_EVERY_MS, run: handlers.purchaseMirror },
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
const WORKER_OPTIONS = { lockDuration: 15_000, stalledInterval: 5_000, maxStalledCount: 1 };

/**
 * Upserts the schedulers and starts this process's worker for the queue. A
 * scheduler is never removed here: during a rolling deploy an older process
 * would remove a newer one's (a job of an unknown name is skipped with a
 * warning; `queue.removeJobScheduler(id)` retires it for good).
 *
 * No overlap: the queue's global concurrency is 1, so at most one periodic
 * job runs at a time across all processes. The sweeps are short and touch the
 * same purchases, so running them one after another is the simple guarantee;
 * the cost is that a long run delays the other jobs' ticks (never doubles them:
 * a scheduler has one pending job at a time).
 *
 * A handler that throws fails that execution only (logged, counted, no retry):
 * the scheduler made the next tick's job when this one started.
 */
export async function startSchedules(options: {
  redisUrl: string;
  registry: WorkerRegistry;
  logger: Logger;
  jobs: PeriodicJob[];
  /** Tests only: a queue of their own on a shared Redis. */
  queueName?: string;
}): Promise<{ close: () => Promise<void> }> {
  const { redisUrl, registry, logger, jobs, queueName = PERIODIC_QUEUE } = options;
  const queue = new Queue(queueName, { connection: bullConnection(redisUrl) });
  await queue.setGlobalConcurrency(1);
  for (const job of jobs) {
    await queue.upsertJobScheduler(
      job.id,
      { every: job.everyMs },
      { name: job.id, data: {}, opts: { attempts: 1, removeOnComplete: { count: 50 }, removeOnFail: { count: 50 } } },
    );
  }
  const byName = new Map(jobs.map((j) => [j.id, j]));

  registry.register(
    queueName,
    async (job: Job) => {
      const periodic = byName.get(job.name);
      if (!periodic) return void logger.warn({ job: job.name }, 'periodic job without a handler in this process (retired? removeJobScheduler); skipped');
      const started = process.hrtime.bigint();
      try {
        await periodic.run();
        runs.labels(periodic.id, 'ok').inc();
      } catch (err) {
        runs.labels(periodic.id, 'failed').inc();
        logger.warn({ job: periodic.id, err }, 'periodic job failed; the next tick runs as usual');
        throw err;
      } finally {
        lastSeconds.labels(periodic.id).set(Number(process.hrtime.bigint() - started) / 1e9);
        lastAt.labels(periodic.id).set(Date.now() / 1000);
      }
    },
    1,
    WORKER_OPTIONS,
  );
  return { close: () => queue.close() };
}
