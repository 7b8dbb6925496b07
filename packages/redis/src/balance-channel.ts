import { createRedis, type RedisClient } from './connection.ts';

export const BALANCES_CHANNEL = 'tally:balances';
/** Changes of one balance within this window go out as one message (the latest value). */
const COALESCE_MS = 50;
/** Balances per PUBLISH, so a busy window never makes one huge message. */
const MAX_PER_MESSAGE = 500;

/** One balance as it now stands; micro-credits as a decimal string (exact past 2^53). */
export interface BalanceMessage {
  tenantId: string;
  customerId: string;
  creditSystem: string;
  balanceMicro: string;
  /** When the publishing process saw it (epoch ms): a listener keeps the newest per credit system. */
  at: number;
}

const keyOf = (tenantId: string, customerId: string) => `${tenantId}\u0000${customerId}`;

/**
 * The balance-changed signal across processes, over Redis pub/sub: debits happen in the workers
 * (and on the API's check path), listeners (the dashboard's balance streams) sit in API processes.
 * Publishing coalesces per balance for COALESCE_MS and sends one PUBLISH per window, so a burst of
 * debits costs one message per 500 balances, and never throws (a lost signal must not touch the debit). Delivery
 * is at most once: a listener that needs the exact figure reads it from the API.
 */
export class RedisBalanceChannel {
  private pending = new Map<string, BalanceMessage>();
  private timer: NodeJS.Timeout | null = null;
  private sub: RedisClient | null = null;
  private readonly listeners = new Map<string, Set<(m: BalanceMessage) => void>>();

  constructor(
    private readonly pub: RedisClient,
    private readonly url: string,
    private readonly channel = BALANCES_CHANNEL,
  ) {}

  /** `at`: when the balance was read (default now); within a window the newest read wins. */
  publish(message: Omit<BalanceMessage, 'at'> & { at?: number }): void {
    const m: BalanceMessage = { ...message, at: message.at ?? Date.now() };
    const k = `${keyOf(m.tenantId, m.customerId)}\u0000${m.creditSystem}`;
    const held = this.pending.get(k);
    if (!held || held.at <= m.at) this.pending.set(k, m);
    this.timer ??= setTimeout(() => this.flush(), COALESCE_MS);
  }

  /** Sends what is pending now (also called on close). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.size === 0) return Promise.resolve();
    const all = [...this.pending.values()];
    this.pending = new Map();
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < all.length; i += MAX_PER_MESSAGE) {
      // Redis down: this signal is lost, the balance itself is not
      sends.push(this.pub.publish(this.channel, JSON.stringify(all.slice(i, i + MAX_PER_MESSAGE))).catch(() => {}));
    }
    return Promise.all(sends).then(() => {});
  }

  /** Calls `listener` with every change of one customer's balances heard from any process; returns the unsubscribe. */
  listen(tenantId: string, customerId: string, listener: (m: BalanceMessage) => void): () => void {
    this.subscriber();
    const key = keyOf(tenantId, customerId);
    let set = this.listeners.get(key);
    if (!set) this.listeners.set(key, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(key);
    };
  }

  /** Resolves once the subscriber connection listens (tests, and streams that must not miss a first change). */
  async ready(): Promise<void> {
    this.subscriber();
    await this.subscribed;
  }

  async close(): Promise<void> {
    await this.flush();
    this.sub?.disconnect();
  }

  private subscribed: Promise<unknown> = Promise.resolve();

  /** The subscriber connection, opened at the first listener (processes that only publish never open it). */
  private subscriber(): RedisClient {
    if (this.sub) return this.sub;
    const sub = createRedis(this.url, { enableOfflineQueue: true, maxRetriesPerRequest: null, autoResubscribe: true });
    sub.on('error', () => {});
    sub.on('message', (_channel: string, text: string) => {
      let batch: BalanceMessage[];
      try {
        batch = JSON.parse(text) as BalanceMessage[];
      } catch {
        return;
      }
      if (!Array.isArray(batch)) return;
      for (const m of batch) {
        for (const listener of this.listeners.get(keyOf(m.tenantId, m.customerId)) ?? []) {
          try {
            listener(m);
          } catch {
            // one stream's failure must not keep the others from hearing it
          }
        }
      }
    });
    this.subscribed = sub.subscribe(this.channel).catch(() => {});
    this.sub = sub;
    return sub;
  }
}
