import { withTransaction, type Pool, type Queryable } from '@tally/postgres';

/**
 * An open Postgres transaction as services see it: something to hand to
 * repository methods (`db` parameters), never to run SQL on. Services take a
 * Transactor instead of a pool, so the boundary of each transaction stays in
 * the service (where its ordering is documented) and the SQL in `*-repo.ts`.
 */
export type Tx = Queryable;

export interface Transactor {
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
}

export const pgTransactor = (pool: Pool): Transactor => ({ transaction: (fn) => withTransaction(pool, fn) });
