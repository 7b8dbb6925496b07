/**
 * What changed, told to every API and workers process so their caches drop
 * it at once (a sync, an attach or a customer update in one process must not
 * be priced against stale state in another; a key revoked in one process must
 * be refused by all at once). `reset` means "you may have
 * missed changes" (the channel reconnected): drop everything.
 */
export type StateChange =
  | { kind: 'catalog'; tenantId: string }
  | { kind: 'customer'; tenantId: string; customerId: string }
  /** A revoked API key (by id: a secret's digest never goes over the channel). */
  | { kind: 'apiKey'; tenantId: string; keyId: string }
  | { kind: 'reset' };

/** The channel itself (Redis pub/sub in production: @tally/redis RedisChangeBus). */
export interface ChangeBus {
  /**
   * Resolves once every other process holds the change (RedisChangeBus: its own message came back,
   * true) or the wait for that ran out (false); other processes apply it within milliseconds.
   */
  publish(change: StateChange): Promise<boolean | void>;
  /** Every change published by any process (this one included), and `reset` after a reconnect. */
  subscribe(handler: (change: StateChange) => void): void;
}

/** A process on its own (tests, CLIs): nothing to tell. */
export const noChangeBus: ChangeBus = {
  publish: async () => {},
  subscribe: () => {},
};
