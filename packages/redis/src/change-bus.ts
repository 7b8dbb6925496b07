import { randomUUID } from 'node:crypto';
import { counter } from '@tally/runtime';
import { isCluster, onResubscribe } from './cluster.ts';
import { createRedis, type RedisClient } from './connection.ts';
import { ShardedSubscription } from './sharded-subscription.ts';

export const CHANGES_CHANNEL = 'tally:changes';
// Normally a millisecond; the bound only matters on a starved machine or a lost subscriber.
const ECHO_WAIT_MS = 500;
const echoTimeouts = counter('tally_change_echo_timeouts_total', 'Change-bus publishes answered without hearing their own message back in time');

/**
 * Cross-process cache invalidation over Redis pub/sub. Every process
 * subscribes; a process that changed state publishes after its commit, and
 * every subscriber (itself included) drops what it held within milliseconds.
 *
 * Pub/sub delivers at most once: a subscriber that was disconnected may have
 * missed messages, so after each reconnect it hears `{ kind: 'reset' }` and
 * drops everything. The caches' own version checks and TTLs stay as the
 * fallback for a publish that failed (Redis down at the moment of the commit).
 *
 * On a Cluster the channel is sharded (SPUBLISH/SSUBSCRIBE on the master that
 * owns its slot), so that hearing one's own message back still means every
 * subscriber has it: see ShardedSubscription.
 */
export class RedisChangeBus<T extends { kind: string }> {
  private readonly sub: RedisClient | ShardedSubscription;
  private readonly handlers: ((change: T) => void)[] = [];
  /** Publishes of this process waiting for their own message to come back. */
  private readonly echoes = new Map<string, () => void>();

  constructor(
    private readonly pub: RedisClient,
    url: string,
    private readonly channel = CHANGES_CHANNEL,
  ) {
    const reset = () => this.emit({ kind: 'reset' } as T);
    if (isCluster(pub)) {
      this.sub = new ShardedSubscription(pub, channel, (text) => this.heard(text), reset);
      return;
    }
    const sub = createRedis(url, { enableOfflineQueue: true, maxRetriesPerRequest: null, autoResubscribe: true });
    this.sub = sub;
    sub.on('error', () => {});
    onResubscribe(sub, reset);
    sub.on('message', (_channel: string, text: string) => this.heard(text));
    void sub.subscribe(this.channel).catch(() => {});
  }

  /**
   * Resolves once this process's own subscriber got the message back (at most
   * ECHO_WAIT_MS): Redis writes a message to every subscriber during PUBLISH (SPUBLISH on a Cluster),
   * so by then the other processes hold it too, and the caller's answer (a
   * sync, an attach) leaves after every process was told. True when it came
   * back; false when the wait ran out (a slow or disconnected subscriber:
   * `tally_change_echo_timeouts_total`), and the other processes' version
   * checks are what remains.
   */
  async publish(change: T): Promise<boolean> {
    const echo = randomUUID();
    const back = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        echoTimeouts.inc();
        resolve(false);
      }, ECHO_WAIT_MS);
      this.echoes.set(echo, () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    try {
      const text = JSON.stringify({ ...change, echo });
      await (isCluster(this.pub) ? this.pub.spublish(this.channel, text) : this.pub.publish(this.channel, text));
      return await back;
    } finally {
      this.echoes.delete(echo);
    }
  }

  subscribe(handler: (change: T) => void): void {
    this.handlers.push(handler);
  }

  close(): void {
    if (this.sub instanceof ShardedSubscription) this.sub.close();
    else this.sub.disconnect();
  }

  private heard(text: string): void {
    let change: T & { echo?: string };
    try {
      change = JSON.parse(text) as T & { echo?: string };
    } catch {
      return;
    }
    const { echo, ...rest } = change;
    this.emit(rest as unknown as T);
    if (echo) this.echoes.get(echo)?.();
  }

  private emit(change: T): void {
    for (const h of this.handlers) {
      try {
        h(change);
      } catch {
        // one handler's failure must not keep the others from dropping stale state
      }
    }
  }
}
