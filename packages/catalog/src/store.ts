import type { Queryable } from '@tally/postgres';

/**
 * An open Postgres transaction as the catalog's services see it: something to
 * hand back to repository methods, never to run SQL on. The boundary of each
 * transaction stays in the service (where its ordering and locks are
 * documented), the statements in the `*-repo.ts` files.
 */
export type Tx = Queryable;

export interface Transactor {
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
}
