import { ReplyError } from 'ioredis';
import { DependencyUnavailableError } from '@tally/runtime';

/** Runs a Redis operation; a connection failure becomes a 503-able error, script/reply errors pass through. */
export async function withRedis<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof ReplyError && !/LOADING|MASTERDOWN|CLUSTERDOWN/.test((err as Error).message)) throw err;
    throw new DependencyUnavailableError('redis', err);
  }
}
