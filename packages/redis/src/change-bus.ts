import { randomUUID } from 'node:crypto';
import { onResubscribe } from './cluster.ts';
import { createRedis, type RedisClient } from './connection.ts';

export const CHANGES_CHANNEL = 'tally:changes';
const ECHO_WAIT_MS = 100;

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
  private readonly sub: RedisClient;
  private readonly handlers: ((change: T) => void)[] = [];
  /** Publishes of this process waiting for their own message to come back. */
  private readonly echoes = new Map<string, () => void>();

  constructor(
    private readonly pub: RedisClient,
    url: string,
    private readonly channel = CHANGES_CHANNEL,
  ) {
    this.sub = createRedis(url, { enableOfflineQueue: true, maxRetriesPerRequest: null, autoResubscribe: true });
    this.sub.on('error', () => {});
    // PUBLISH reaches every node of a Cluster, so one subscriber on any node hears every process
    onResubscribe(this.sub, () => this.emit({ kind: 'reset' } as T));
    this.sub.on('message', (_channel: string, text: string) => {
      let change: T & { echo?: string };
      try {
        change = JSON.parse(text) as T & { echo?: string };
      } catch {
        return;
      }
      const { echo, ...rest } = change;
      this.emit(rest as unknown as T);
      if (echo) this.echoes.get(echo)?.();
    });
    void this.sub.subscribe(this.channel).catch(() => {});
  }

  /**
   * Resolves once this process's own subscriber got the message back (at most
   * ECHO_WAIT_MS): Redis writes a message to every subscriber during PUBLISH,
   * so by then the other processes hold it too, and the caller's answer (a
   * sync, an attach) leaves after every process was told.
   */
  async publish(change: T): Promise<void> {
    const echo = randomUUID();
    const back = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ECHO_WAIT_MS);
      this.echoes.set(echo, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    try {
      await this.pub.publish(this.channel, JSON.stringify({ ...change, echo }));
      await back;
    } finally {
      this.echoes.delete(echo);
    }
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
