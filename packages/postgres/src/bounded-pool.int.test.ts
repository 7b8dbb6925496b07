import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { dependencies, DependencyUnavailableError, newBudget, parseConfig, runWithBudget, sharedEnv } from '@tally/runtime';
import { createPool, postgresProbe, withTransaction } from './pool.ts';

const { DATABASE_URL } = parseConfig(sharedEnv);
const pool = createPool(DATABASE_URL, 3);
afterAll(() => pool.end());

/** The error and how long it took, of `fn` run inside a request whose budget is `budgetMs`. */
async function inRequest(budgetMs: number, fn: () => Promise<unknown>): Promise<{ err: unknown; ms: number }> {
  const started = Date.now();
  try {
    await runWithBudget(newBudget(budgetMs), fn);
    return { err: null, ms: Date.now() - started };
  } catch (err) {
    return { err, ms: Date.now() - started };
  }
}

describe('Postgres waits bounded by the request budget', () => {
  it('pool.query: a query that outlives the budget is a postgres 503, near the budget, not at its own end', async () => {
    const { err, ms } = await inRequest(600, () => pool.query('SELECT pg_sleep(3)'));
    expect(err).toBeInstanceOf(DependencyUnavailableError);
    expect((err as DependencyUnavailableError).dependency).toBe('postgres');
    expect(ms).toBeLessThan(2500);
  });

  it('outside a request nothing is bounded: the same kind of query answers', async () => {
    const { rows } = await pool.query<{ ok: number }>('SELECT 1 AS ok FROM pg_sleep(0.8)');
    expect(rows[0]!.ok).toBe(1);
  });

  it('a transaction whose query ran out is rolled back (its connection closed) and the pool keeps answering', async () => {
    await pool.query('CREATE TABLE IF NOT EXISTS bounded_pool_probe (id text PRIMARY KEY)');
    const id = randomUUID();
    const { err } = await inRequest(600, () =>
      withTransaction(pool, async (tx) => {
        await tx.query('INSERT INTO bounded_pool_probe (id) VALUES ($1)', [id]);
        await tx.query('SELECT pg_sleep(3)');
      }),
    );
    expect(err).toBeInstanceOf(DependencyUnavailableError);
    // the stuck client was destroyed, not handed back: the server aborts its transaction
    await new Promise((r) => setTimeout(r, 3500));
    const { rows } = await pool.query('SELECT id FROM bounded_pool_probe WHERE id = $1', [id]);
    expect(rows).toEqual([]);
    // every client of the pool (max 3) still answers at once
    const answers = await Promise.all(Array.from({ length: 3 }, () => runWithBudget(newBudget(2000), () => pool.query<{ n: number }>('SELECT 2 AS n'))));
    expect(answers.map((a) => a.rows[0]!.n)).toEqual([2, 2, 2]);
  });

  it('a checkout that waits for a busy pool past the budget gives up, and the client it gets later goes back', async () => {
    const small = createPool(DATABASE_URL, 1);
    try {
      const holder = await small.connect();
      const { err, ms } = await inRequest(400, () => small.connect());
      expect(err).toBeInstanceOf(DependencyUnavailableError);
      expect(ms).toBeLessThan(2000);
      holder.release();
      // the late checkout was released at once: the one client is free again
      const { rows } = await runWithBudget(newBudget(2000), () => small.query<{ n: number }>('SELECT 3 AS n'));
      expect(rows[0]!.n).toBe(3);
      expect(small.idleCount + small.waitingCount).toBeLessThanOrEqual(1);
    } finally {
      await small.end();
    }
  });

  it('marked down by readiness: requests are refused at once, the probe itself still reaches Postgres and brings it back', async () => {
    try {
      dependencies.watch([{ name: 'postgres', check: async () => { throw new Error('probe says down'); } }]);
      dependencies.suspect('postgres');
      await new Promise((r) => setTimeout(r, 100));
      expect(dependencies.isDown('postgres')).toBe(true);
      const { err, ms } = await inRequest(5000, () => pool.query('SELECT 1'));
      expect(err).toBeInstanceOf(DependencyUnavailableError);
      expect(ms).toBeLessThan(1000);
      // outside a request (where the probes run) nothing is refused: a probe of the real pool answers
      await postgresProbe(pool).check();
      dependencies.watch([postgresProbe(pool)]);
      dependencies.suspect('postgres');
      await new Promise((r) => setTimeout(r, 300));
      expect(dependencies.isDown('postgres')).toBe(false);
      const { rows } = await runWithBudget(newBudget(2000), () => pool.query<{ n: number }>('SELECT 4 AS n'));
      expect(rows[0]!.n).toBe(4);
    } finally {
      dependencies.stop();
    }
  });
});
