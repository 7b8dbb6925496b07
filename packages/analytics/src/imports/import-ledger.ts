import { keys, type RedisClient } from '@tally/redis';
import { claimEventIds, releaseClaims, type ClaimableEvent } from './id-claims.ts';

const MARKER_TTL_SEC = 7 * 24 * 3600;

/** What imports keep in Redis: per-chunk attempt markers, id claims against the metering ledger, customer state. */
export interface ImportLedger {
  /** Whether an earlier attempt of this chunk got as far as storing (its marker is set). */
  attempted(importId: string, chunk: number): Promise<boolean>;
  /** Sets the chunk's marker: set before storing, so a crash in between is recognised by the next attempt. */
  markAttempt(importId: string, chunk: number): Promise<void>;
  /** Claims ids for `owner` (id-claims.ts): those it may store, and how many someone else holds. */
  claim<T extends ClaimableEvent>(tenantId: string, owner: string, events: T[]): Promise<{ mine: T[]; taken: number }>;
  /** The claimed rows are stored: forget the claims. */
  release(tenantId: string, events: ClaimableEvent[]): Promise<void>;
  /** Drops customers' balance state, which metering rebuilds on next use (an apply import's credit back). */
  dropCustomerState(tenantId: string, customers: string[]): Promise<void>;
}

const markerKey = (importId: string, chunk: number) => keys.custom('import', importId, 'chunk', String(chunk), 'inserting');

/** ImportLedger over Redis. */
export class RedisImportLedger implements ImportLedger {
  constructor(private readonly redis: RedisClient) {}

  async attempted(importId: string, chunk: number): Promise<boolean> {
    return (await this.redis.exists(markerKey(importId, chunk))) === 1;
  }

  async markAttempt(importId: string, chunk: number): Promise<void> {
    await this.redis.set(markerKey(importId, chunk), '1', 'EX', MARKER_TTL_SEC);
  }

  claim<T extends ClaimableEvent>(tenantId: string, owner: string, events: T[]): Promise<{ mine: T[]; taken: number }> {
    return claimEventIds(this.redis, tenantId, owner, events);
  }

  release(tenantId: string, events: ClaimableEvent[]): Promise<void> {
    return releaseClaims(this.redis, tenantId, events);
  }

  async dropCustomerState(tenantId: string, customers: string[]): Promise<void> {
    for (let i = 0; i < customers.length; i += 500) {
      const batch = customers.slice(i, i + 500).map((c) => keys.hydrated(tenantId, c));
      // One DEL per customer: keys of different customers may live in different cluster slots.
      await Promise.all(batch.map((k) => this.redis.del(k)));
    }
  }
}
