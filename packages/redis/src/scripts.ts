import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bounded } from '@tally/runtime';
import type { RedisClient } from './connection.ts';

const LUA_DIR = fileURLToPath(new URL('../lua/', import.meta.url));
const LIBRARY = readFileSync(`${LUA_DIR}lib/ledger.lua`, 'utf8');

export type ScriptArg = string | number | Buffer;

/**
 * A Lua script from packages/redis/lua/<name>.<numkeys>.lua (`var` = the
 * caller passes any number of keys, all of one customer's hash tag). The
 * shared ledger library is prepended. Runs with EVALSHA, loading the script
 * on NOSCRIPT, so a warm call is one round trip.
 */
export class LuaScript {
  readonly source: string;
  readonly sha: string;
  readonly numKeys: number | null;

  constructor(readonly file: string) {
    const match = /^([a-z-]+)\.(\d+|var)\.lua$/.exec(file);
    if (!match) throw new Error(`script file must be named <name>.<numkeys>.lua: ${file}`);
    this.numKeys = match[2] === 'var' ? null : Number(match[2]);
    this.source = `${LIBRARY}\n${readFileSync(LUA_DIR + file, 'utf8')}`;
    this.sha = createHash('sha1').update(this.source).digest('hex');
  }

  async run<T = unknown>(redis: RedisClient, keys: string[], args: ScriptArg[]): Promise<T> {
    if (this.numKeys !== null && keys.length !== this.numKeys) {
      throw new Error(`${this.file} takes ${this.numKeys} keys, got ${keys.length}`);
    }
    // within a request, bounded by its budget (docs/operations.md "Budgets")
    return bounded('redis', async () => {
      try {
        return (await redis.evalsha(this.sha, keys.length, ...keys, ...args)) as T;
      } catch (err) {
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
        return (await redis.eval(this.source, keys.length, ...keys, ...args)) as T;
      }
    });
  }
}

/** Every script Tally runs, loaded once per process. */
export const scripts = {
  deduct: new LuaScript('deduct.var.lua'),
  check: new LuaScript('check.8.lua'),
  applyGrant: new LuaScript('apply-grant.4.lua'),
  revokeGrant: new LuaScript('revoke-grant.4.lua'),
  undoDebit: new LuaScript('undo-debit.5.lua'),
  takeStrictPending: new LuaScript('take-strict-pending.1.lua'),
  claimStrictPending: new LuaScript('claim-strict-pending.2.lua'),
  settlePeriod: new LuaScript('settle-period.2.lua'),
  rateLimit: new LuaScript('rate-limit.1.lua'),
  compareAndDelete: new LuaScript('compare-and-delete.1.lua'),
  /** Run pipelined with EVALSHA (its source loaded with `loadScript`), not through `run`. */
  claimImportIds: new LuaScript('claim-import-ids.3.lua'),
};

/**
 * Deletes `key` only while it still holds `expected`: a lock released by its
 * own holder, a build marker dropped only if it is still the stale build.
 * Resolves to 1 when deleted, 0 when the key held something else.
 */
export const compareAndDelete = (redis: RedisClient, key: string, expected: string): Promise<number> =>
  scripts.compareAndDelete.run<number>(redis, [key], [expected]);
