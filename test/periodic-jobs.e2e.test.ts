/**
 * Periodic work runs once per tick across workers processes (BullMQ job
 * schedulers, apps/workers/src/schedules.ts): two workers processes on one
 * Redis execute each periodic job about once per interval in total, not once
 * per interval each; after a kill -9 of one, the other runs every tick.
 * Counted from each process's /metrics (tally_periodic_runs_total).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateStack, type PrivateStack } from './support/private-stack.ts';
import { METRICS_TOKEN, opsHeaders } from './support/ops.ts';

const EVERY_MS = 1000;
const JOBS = ['billing-sweep', 'purchase-mirror', 'strict-outbox', 'renewals'] as const;
type JobName = (typeof JOBS)[number];

let stack: PrivateStack;
beforeAll(async () => {
  stack = await privateStack({
    apis: 1,
    workers: 2,
    env: {
      METRICS_TOKEN,
      ...Object.fromEntries(['BILLING_SWEEP_EVERY_MS', 'PURCHASE_MIRROR_EVERY_MS', 'STRICT_OUTBOX_SWEEP_EVERY_MS', 'RENEWAL_SWEEP_EVERY_MS'].map((v) => [v, String(EVERY_MS)])),
    },
  });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
});

/** Executions of each periodic job in one workers process so far (ok + failed), from its /metrics. */
async function runsIn(workersUrl: string): Promise<Record<JobName, number>> {
  const res = await fetch(`${workersUrl}/metrics`, { headers: opsHeaders });
  expect(res.status).toBe(200);
  const text = await res.text();
  const out = Object.fromEntries(JOBS.map((j) => [j, 0])) as Record<JobName, number>;
  for (const m of text.matchAll(/^tally_periodic_runs_total\{([^}]*)\} (\d+)$/gm)) {
    const job = /job="([^"]+)"/.exec(m[1]!)?.[1] as JobName | undefined;
    if (job && job in out) out[job] += Number(m[2]);
  }
  return out;
}

async function totalRuns(urls: string[]): Promise<Record<JobName, number>> {
  const total = Object.fromEntries(JOBS.map((j) => [j, 0])) as Record<JobName, number>;
  for (const url of urls) {
    const r = await runsIn(url);
    for (const job of JOBS) total[job] += r[job];
  }
  return total;
}

/** The most ticks an interval of `ms` holds: one per EVERY_MS, plus slack for a tick on each edge and one late tick caught up. */
const mostTicks = (ms: number) => Math.floor(ms / EVERY_MS) + 3;

describe('periodic jobs across two workers processes', () => {
  it('run once per tick in total, not once per process; after a kill -9 the survivor runs every tick', { timeout: 180_000 }, async () => {
    const urls = stack.workers.map((w) => w.url);
    // both processes have upserted their schedulers and taken jobs
    const warmDeadline = Date.now() + 60_000;
    while (Object.values(await totalRuns(urls)).some((n) => n < 2)) {
      if (Date.now() > warmDeadline) throw new Error(`periodic jobs did not start: ${JSON.stringify(await totalRuns(urls))}`);
      await sleep(250);
    }

    const before = await totalRuns(urls);
    const startedAt = Date.now();
    await sleep(12_000);
    const after = await totalRuns(urls);
    const elapsed = Date.now() - startedAt;
    for (const job of JOBS) {
      const ran = after[job] - before[job];
      // once per process per tick would be ≈ 2 × elapsed / EVERY_MS (24 here)
      expect(ran, `${job}: ${ran} runs in ${elapsed} ms across 2 processes`).toBeLessThanOrEqual(mostTicks(elapsed));
      expect(ran, `${job} ran`).toBeGreaterThanOrEqual(3);
    }

    // kill -9 one process: the other goes on, still once per tick
    const survivor = stack.workers[1]!.url;
    await stack.workers[0]!.stop('SIGKILL');
    const atKill = await runsIn(survivor);
    const killedAt = Date.now();
    // a job the killed process held is handed over once its lock expires (10 s) and the stalled check runs (3 s)
    const deadline = Date.now() + 90_000;
    let now = atKill;
    while (JOBS.some((j) => now[j] - atKill[j] < 6)) {
      if (Date.now() > deadline) throw new Error(`survivor stopped ticking: ${JSON.stringify({ atKill, now })}\n${stack.workers[1]!.output()}`);
      await sleep(500);
      now = await runsIn(survivor);
    }
    const sinceKill = Date.now() - killedAt;
    for (const job of JOBS) expect(now[job] - atKill[job], `${job} after the kill`).toBeLessThanOrEqual(mostTicks(sinceKill));
  });
});
