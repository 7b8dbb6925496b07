import { meteringErrors } from '../errors.ts';
import { withRedis } from '../redis-errors.ts';
import type { Rebuilder } from '../rebuild.ts';

const MAX_REBUILD_TRIES = 3;

/**
 * Runs a script that answers -1 when the customer has no state: rebuilds and
 * retries. The warm path is the script alone (one round trip).
 */
export async function withCustomerState<T>(rebuilder: Rebuilder, t: string, c: string, op: () => Promise<T>): Promise<Exclude<T, -1>> {
  for (let i = 0; i < MAX_REBUILD_TRIES; i++) {
    const result = await withRedis(op);
    if (result !== -1) return result as Exclude<T, -1>;
    await rebuilder.ensure(t, c);
  }
  throw meteringErrors.state_unavailable('customer state could not be rebuilt');
}
