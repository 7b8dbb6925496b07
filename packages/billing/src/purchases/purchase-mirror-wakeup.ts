import type { Pool, PoolClient } from '@tally/postgres';
import type { Logger } from '@tally/runtime';

/** The channel migration 0012's trigger notifies when a purchase completes or is refunded. */
export const PURCHASE_MIRROR_CHANNEL = 'tally_purchase_mirror';
const RECONNECT_MS = 1_000;

/**
 * Calls `wake` soon after any process commits a completed or refunded
 * purchase (LISTEN on one pooled connection), so the mirror runs seconds
 * after the commit, not at the next timer. A hint only: notifications sent
 * while the connection is down are lost, so `wake` also runs after every
 * reconnect, and the caller keeps a timer as the safety net.
 */
export function listenForPurchaseChanges(pool: Pool, wake: () => void, logger: Logger): { close: () => Promise<void> } {
  let client: PoolClient | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | null = null;

  const drop = (err: unknown) => {
    if (!client) return;
    const c = client;
    client = null;
    c.release(err instanceof Error ? err : new Error(String(err)));
    if (!closed) {
      logger.warn({ err }, 'purchase mirror: LISTEN connection lost; reconnecting');
      retry = setTimeout(() => void connect(), RECONNECT_MS);
      retry.unref();
    }
  };

  const connect = async () => {
    retry = null;
    if (closed) return;
    try {
      const c = await pool.connect();
      client = c;
      c.on('error', drop);
      c.on('notification', (msg) => {
        if (msg.channel === PURCHASE_MIRROR_CHANNEL) wake();
      });
      await c.query(`LISTEN ${PURCHASE_MIRROR_CHANNEL}`);
      wake(); // whatever committed while we were not listening
    } catch (err) {
      if (client) drop(err);
      else if (!closed) {
        retry = setTimeout(() => void connect(), RECONNECT_MS);
        retry.unref();
      }
    }
  };
  void connect();

  return {
    close: async () => {
      closed = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = null;
      if (c) {
        await c.query(`UNLISTEN ${PURCHASE_MIRROR_CHANNEL}`).catch(() => {});
        c.release();
      }
    },
  };
}
