import { compareAndDelete, type RedisClient } from '@tally/redis';

/** One repair per tenant at a time, across every API process. */
export interface RepairLock {
  /** A token when this caller holds the tenant's lock now, null when another run holds it. */
  acquire(tenantId: string): Promise<string | null>;
  /** Releases the lock if `token` still holds it (it may have expired and been taken by a later run). */
  release(tenantId: string, token: string): Promise<void>;
}

const LOCK_MS = 10 * 60_000;
const lockKey = (tenantId: string) => `tally:{${tenantId}}:rollup-repair`;

/** The lock in Redis: SET NX with a 10-minute expiry, released by compare-and-delete. */
export class RedisRepairLock implements RepairLock {
  constructor(private readonly redis: RedisClient) {}

  async acquire(tenantId: string): Promise<string | null> {
    const token = `${process.pid}:${Date.now()}:${Math.random()}`;
    return (await this.redis.set(lockKey(tenantId), token, 'PX', LOCK_MS, 'NX')) === 'OK' ? token : null;
  }

  async release(tenantId: string, token: string): Promise<void> {
    await compareAndDelete(this.redis, lockKey(tenantId), token);
  }
}
