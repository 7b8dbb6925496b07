import type pg from 'pg';
import { bounded, DependencyUnavailableError, inBudget } from '@tally/runtime';

/**
 * Every Postgres wait made while answering a request bounded by what is left
 * of its budget (@tally/runtime `bounded`, docs/operations.md "Budgets"):
 * `pool.query`, `pool.connect` and each query of a checked-out client. Past
 * it the caller gets DependencyUnavailableError('postgres') (503) and the
 * query goes on alone; outside a request nothing changes (no bound).
 *
 * What a late answer leaves behind is cleaned up: a client checked out after
 * its caller gave up is released at once, and a client one of whose queries
 * ran out is destroyed on release instead of going back to the pool — it may
 * still be inside that query (or inside a transaction whose ROLLBACK queued
 * behind it), and closing the connection is what makes the server roll back.
 */
export function boundPool(pool: pg.Pool): pg.Pool {
  const stuck = new WeakSet<pg.PoolClient>();
  pool.on('connect', (client) => boundClient(client as pg.PoolClient, stuck));

  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  pool.query = ((...args: unknown[]) => (passThrough(args) ? query(...args) : bounded('postgres', () => query(...args) as Promise<unknown>))) as typeof pool.query;

  const connect = pool.connect.bind(pool) as (cb?: unknown) => unknown;
  pool.connect = ((cb?: unknown) => {
    if (typeof cb === 'function' || !inBudget()) return connect(cb); // pool.query's own checkout: bounded as a whole above
    const checkout = connect() as Promise<pg.PoolClient>;
    return bounded('postgres', () => checkout).then(
      (client) => {
        const release = client.release;
        client.release = (err?: Error | boolean) => release.call(client, err || (stuck.has(client) ? new Error('a query outlived its deadline') : undefined));
        return client;
      },
      (err: unknown) => {
        // the caller gave up: a client that arrives later goes straight back
        checkout.then((late) => late.release(), () => {});
        throw err;
      },
    );
  }) as typeof pool.connect;
  return pool;
}

function boundClient(client: pg.PoolClient, stuck: WeakSet<pg.PoolClient>): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((...args: unknown[]) => {
    if (passThrough(args)) return query(...args);
    return bounded('postgres', () => query(...args) as Promise<unknown>).catch((err: unknown) => {
      if (err instanceof DependencyUnavailableError) stuck.add(client);
      throw err;
    });
  }) as typeof client.query;
}

/**
 * Left as they are: everything outside a request (readiness probes above all: a probe refused because its
 * dependency is down would keep it down for good), callback style (pool.query's own dispatch) and submittables
 * (cursors, streams).
 */
function passThrough(args: unknown[]): boolean {
  if (!inBudget()) return true;
  if (args.some((a) => typeof a === 'function')) return true;
  const first = args[0] as { submit?: unknown; callback?: unknown } | null | undefined;
  return typeof first === 'object' && first !== null && (typeof first.submit === 'function' || typeof first.callback === 'function');
}
