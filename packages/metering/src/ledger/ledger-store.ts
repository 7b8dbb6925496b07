import { compareAndDelete, execBatch, type BatchCommand, type LuaScript, type RedisClient, type ScriptArg } from '@tally/redis';

/**
 * The balance store: the Redis ledger as the metering services see it. They
 * pass keys built by ledger/keys.ts and scripts from ledger/scripts.ts; how
 * the commands reach Redis (one server or a Cluster) is this adapter's.
 */
export interface LedgerStore {
  /** One ledger script; its keys share one customer's hash tag. */
  run<T>(script: LuaScript, keys: string[], args: ScriptArg[]): Promise<T>;
  /** Commands in one round trip (one pipeline per slot on a Cluster), replies in the order given. */
  batch(commands: BatchCommand[]): Promise<[Error | null, unknown][]>;
  /** Deletes `key` only while it still holds `expected`; 1 when deleted. */
  compareAndDelete(key: string, expected: string): Promise<number>;
  hmget(key: string, fields: string[]): Promise<(string | null)[]>;
}

export class RedisLedgerStore implements LedgerStore {
  constructor(private readonly redis: RedisClient) {}

  run<T>(script: LuaScript, keys: string[], args: ScriptArg[]): Promise<T> {
    return script.run<T>(this.redis, keys, args);
  }

  batch(commands: BatchCommand[]): Promise<[Error | null, unknown][]> {
    return execBatch(this.redis, commands);
  }

  compareAndDelete(key: string, expected: string): Promise<number> {
    return compareAndDelete(this.redis, key, expected);
  }

  hmget(key: string, fields: string[]): Promise<(string | null)[]> {
    return this.redis.hmget(key, ...fields);
  }
}
