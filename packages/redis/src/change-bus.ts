import { Redis } from 'ioredis';
import { createRedis } from './connection.ts';

export const CHANGES_CHANNEL = 'tally:changes';

/**
 * Cross-process cache invalidation over Redis pub/sub. Every process
 * subscribes; a process that changed state publishes after its commit, and
 * every subscriber (itself included) drops what it held within milliseconds.
 *
 * Pub/sub delivers at most once: a subscriber that was disconnected may have
 * missed messages, so after each reconnect it hears `{ kind: 'reset' }` and
 * drops everything. The caches' own version checks and TTLs stay as the
 * fallback for a publish that failed (Redis down at the moment of the commit).
 */
export class RedisChangeBus<T extends { kind: string }> {
  private readonly sub: Redis;
  private readonly handlers: ((change: T) => void)[] = [];
  private connectedBefore = false;

  constructor(
    private readonly pub: Redis,
    url: string,
    private readonly channel = CHANGES_CHANNEL,
  ) {
    this.sub = createRedis(url, { enableOfflineQueue: true, maxRetriesPerRequest: null, autoResubscribe: true });
    this.sub.on('error', () => {});
    this.sub.on('ready', () => {
      if (this.connectedBefore) this.emit({ kind: 'reset' } as T);
      this.connectedBefore = true;
    });
    this.sub.on('message', (_channel: string, text: string) => {
      let change: T;
      try {
        change = JSON.parse(text) as T;
      } catch {
        return;
      }
      this.emit(change);
    });
    void this.sub.subscribe(this.channel).catch(() => {});
  }

  async publish(change: T): Promise<void> {
    await this.pub.publish(this.channel, JSON.stringify(change));
  }

  subscribe(handler: (change: T) => void): void {
    this.handlers.push(handler);
  }

  close(): void {
    this.sub.disconnect();
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
