import pg from 'pg';
import { DependencyUnavailableError } from '@tally/runtime';
import { boundPool } from './bounded-pool.ts';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Anything that can run a query: the pool or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

// bigint columns (credits in micro-units, money in minor units) come back as strings by
// default; parse them to BigInt so no amount ever passes through a float.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => BigInt(v));

export function createPool(url: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 3000 });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  // in a request, every wait on it is bounded by the request's budget
  return boundPool(pool);
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P03', '08006', '08001']);

/** Maps "cannot reach Postgres" failures to a 503-able error; everything else passes through. */
export function asDependencyError(err: unknown): unknown {
  const code = (err as { code?: string } | null)?.code;
  const message = err instanceof Error ? err.message : '';
  if ((code && CONNECTION_CODES.has(code)) || /timeout exceeded when trying to connect|Connection terminated/i.test(message)) {
    return new DependencyUnavailableError('postgres', err);
  }
  return err;
}

/** Runs `fn` in one transaction; rolls back on any error, and at the end too when `commit` is false (a dry run). */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, { commit = true } = {}): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw asDependencyError(err);
  }
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query(commit ? 'COMMIT' : 'ROLLBACK');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw asDependencyError(err);
  } finally {
    client.release();
  }
}

export const postgresProbe = (pool: pg.Pool) => ({
  name: 'postgres',
  check: async () => {
    await pool.query('SELECT 1');
  },
});
