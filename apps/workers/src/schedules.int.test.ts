import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { ownBull } from '@tally/redis';
import { createLogger, metricsRegistry } from '@tally/runtime';
import { WorkerRegistry } from './registry.ts';
import { periodicQueueName, startSchedules, type PeriodicJob } from './schedules.ts';

/**
 * Two "processes" (two registries and schedulers, as two workers processes
 * would have) on the shared Redis, on a queue of this test's own.
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const logger = createLogger('schedules-test', 'silent');
const closing: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closing.reverse()) await close();
});

async function twoProcesses(queuePrefix: string, jobs: PeriodicJob[], watchEveryMs?: number) {
  for (let p = 0; p < 2; p++) {
    const registry = new WorkerRegistry(REDIS_URL, logger);
    const schedules = await startSchedules({ redisUrl: REDIS_URL, registry, jobs, queuePrefix, ...(watchEveryMs ? { watchEveryMs } : {}) });
    closing.push(() => registry.close(), schedules.close);
  }
  // leave nothing behind in the shared Redis: the queues and their schedulers go with the test
  closing.unshift(async () => {
    for (const job of jobs) {
      const queue = ownBull(REDIS_URL, (o) => new Queue(periodicQueueName(job.id, queuePrefix), o));
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
}

async function runsOf(job: string, outcome: 'ok' | 'failed'): Promise<number> {
  const metric = (await metricsRegistry.getMetricsAsJSON()).find((m) => m.name === 'tally_periodic_runs_total');
  return Number(metric?.values.find((v) => v.labels.job === job && v.labels.outcome === outcome)?.value ?? 0);
}

describe('periodic jobs across two processes', () => {
  it('a handler that throws fails that tick only (counted); the next ticks run; a job longer than its interval never overlaps itself', async () => {
    const flaky = `flaky-${randomUUID().slice(0, 8)}`;
    const slow = `slow-${randomUUID().slice(0, 8)}`;
    let flakyCalls = 0;
    const running = { [flaky]: 0, [slow]: 0 };
    const most = { [flaky]: 0, [slow]: 0, together: 0 };
    const track = async (id: string, ms: number) => {
      running[id]!++;
      most[id] = Math.max(most[id]!, running[id]!);
      most.together = Math.max(most.together, running[flaky]! + running[slow]!);
      await sleep(ms);
      running[id]!--;
    };
    await twoProcesses(`tally-periodic-test-${randomUUID().slice(0, 8)}`, [
      {
        id: flaky,
        everyMs: 300,
        run: async () => {
          flakyCalls++;
          await track(flaky, 10);
          if (flakyCalls === 1) throw new Error('first run fails');
        },
      },
      // longer than its interval: BullMQ already holds its next tick when it starts
      { id: slow, everyMs: 300, run: () => track(slow, 700) },
    ]);

    const deadline = Date.now() + 25_000;
    while ((await runsOf(flaky, 'ok')) < 4 || (await runsOf(slow, 'ok')) < 3) {
      if (Date.now() > deadline) throw new Error(`too few runs: flaky ${flakyCalls}, slow ${await runsOf(slow, 'ok')}`);
      await sleep(100);
    }
    expect(await runsOf(flaky, 'failed')).toBe(1);
    expect(most[slow]).toBe(1);
    expect(most[flaky]).toBe(1);
    // one job's long run does not hold the other up (a queue each)
    expect(most.together).toBe(2);
  });

  it('a scheduler lost with Redis (its queue wiped) is put back by the processes, and the job ticks again', async () => {
    const id = `lost-${randomUUID().slice(0, 8)}`;
    const prefix = `tally-periodic-test-${randomUUID().slice(0, 8)}`;
    let calls = 0;
    await twoProcesses(prefix, [{ id, everyMs: 200, run: async () => void calls++ }], 300);
    const until = async (what: string, done: () => Promise<boolean> | boolean) => {
      const deadline = Date.now() + 20_000;
      while (!(await done())) {
        if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
        await sleep(50);
      }
    };
    await until('first ticks', () => calls >= 2);

    // what FLUSHALL does to this queue: every key of it gone, the scheduler with them
    const queue = ownBull(REDIS_URL, (o) => new Queue(periodicQueueName(id, prefix), o));
    await queue.obliterate({ force: true });
    expect(await queue.getJobScheduler(id)).toBeUndefined();
    const afterLoss = calls;

    await until('scheduler back', async () => (await queue.getJobScheduler(id)) !== undefined);
    await until('ticks again', () => calls >= afterLoss + 3);
    const restored = (await metricsRegistry.getMetricsAsJSON()).find((m) => m.name === 'tally_periodic_schedulers_restored_total');
    expect(Number(restored?.values.find((v) => v.labels.job === id)?.value ?? 0)).toBeGreaterThanOrEqual(1);
    await queue.close();
  });
});
