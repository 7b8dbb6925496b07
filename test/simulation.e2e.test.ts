import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSimulation, Stack } from '@tally/sim';

/**
 * The simulator (sim/, docs/simulation.md) on the default profile: a few fixed
 * seeds of interleaved catalog changes, attaches, tracks, batches with
 * duplicates and conflicts, strict checks, and faults, against 2 APIs and
 * 2 workers; every acknowledged operation feeds an independent reference model
 * and Tally must match it exactly after quiescence.
 */
const SEEDS = [11, 12, 13];
const OPS = 50;
const FAULTS = ['keys', 'flush', 'period'] as const;

let stack: Stack;
beforeAll(async () => {
  stack = await Stack.start({ run: `e2e-${randomUUID().slice(0, 8)}`, redisDb: 12, log: () => {} });
}, 150_000);
afterAll(async () => {
  await stack?.stop();
});

describe('simulation: Tally against the reference model', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: ${OPS} operations, faults ${FAULTS.join(',')}, no divergence`, async () => {
      const result = await runSimulation({ seed, ops: OPS, profile: 'default', faults: [...FAULTS], redisDb: 12, stack });
      expect(result.counts.track ?? 0).toBeGreaterThan(0);
      expect(result.report, `replay: npm run sim -- --seed ${seed} --ops ${OPS} --faults ${FAULTS.join(',')}`).toBe('');
      expect(result.divergences).toEqual([]);
    }, 150_000);
  }
});
