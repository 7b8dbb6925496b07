import { Redis, type Cluster } from 'ioredis';
import { keySlot } from './cluster.ts';

const RETRY_MS = 200;

type SlotRange = [number, number, [string, number, ...unknown[]], ...unknown[]];

/**
 * One channel of sharded pub/sub on a Redis Cluster (SSUBSCRIBE/SPUBLISH,
 * Redis 7): a connection of its own to the master that owns the channel's
 * slot. SPUBLISH goes to that master and is written to each of its
 * subscribers during the command, as PUBLISH is on one server; a classic
 * PUBLISH on a Cluster reaches the other nodes' subscribers later, through the
 * cluster bus, so hearing one's own message back said nothing about the
 * others (stale prices after a sync, simulator seed 204 on the cluster profile).
 *
 * When the connection ends (the node died, failed over, or cut its
 * subscribers), the owner is looked up again and `onReset` tells the caller
 * that messages may have been missed meanwhile. A slot migrated to another
 * master without the connection ending is not noticed: the callers' own
 * version checks stay the fallback, as for any missed message.
 */
export class ShardedSubscription {
  private conn: Redis | null = null;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  /** A connection existed before: one opened after it may have missed messages. */
  private listened = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly channel: string,
    private readonly onMessage: (text: string) => void,
    private readonly onReset: () => void,
  ) {
    void this.open();
  }

  /** The node it listens on now ("host:port"), null while (re)connecting. */
  get node(): string | null {
    return this.conn ? `${this.conn.options.host}:${this.conn.options.port}` : null;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.conn?.disconnect();
    this.conn = null;
  }

  private async open(): Promise<void> {
    if (this.closed) return;
    let conn: Redis | null = null;
    try {
      const { host, port } = await this.owner();
      const base = this.cluster.options.redisOptions ?? {};
      conn = new Redis({
        host,
        port,
        username: base.username,
        password: base.password,
        tls: base.tls,
        lazyConnect: true,
        retryStrategy: () => null, // a new owner is looked up instead
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
        autoResubscribe: false,
      });
      conn.on('error', () => {});
      const self = conn;
      conn.on('smessage', (channel: string, text: string) => {
        if (channel === this.channel && this.conn === self) this.onMessage(text);
      });
      conn.on('end', () => {
        if (this.conn !== self) return;
        this.conn = null;
        this.again();
      });
      await conn.connect();
      await conn.ssubscribe(this.channel);
      if (this.closed) {
        conn.disconnect();
        return;
      }
      this.conn = conn;
      if (this.listened) this.onReset();
      this.listened = true;
    } catch {
      conn?.disconnect();
      this.again();
    }
  }

  private again(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.open();
    }, RETRY_MS);
  }

  private async owner(): Promise<{ host: string; port: number }> {
    const slot = keySlot(this.channel);
    const ranges = (await this.cluster.cluster('SLOTS')) as unknown as SlotRange[];
    const range = ranges.find(([start, end]) => slot >= start && slot <= end);
    if (!range) throw new Error(`no master owns slot ${slot}`);
    return { host: range[2][0], port: Number(range[2][1]) };
  }
}
