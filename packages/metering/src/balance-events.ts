import { EventEmitter } from 'node:events';

export interface BalanceChanged {
  tenantId: string;
  customerId: string;
  creditSystem: string;
  /** Plan allowance left plus purchased credits left (micro); plan part counts 0 when unlimited. */
  balanceMicro: bigint;
  /**
   * When the balance was read (epoch ms; default: when emitted). The workers emit after the
   * rows are written, which can be much later than the read: listeners order values by this.
   */
  atMs?: number;
}

export type BalanceListener = (e: BalanceChanged) => void;

// One hub per process: every BalanceService instance (billing's, the deduct
// processor's, the API's check path) shares the listeners.
const hub = new EventEmitter();
hub.setMaxListeners(100);

function notify(event: 'changed' | 'observed', e: BalanceChanged): void {
  for (const listener of hub.listeners(event) as BalanceListener[]) {
    try {
      listener(e);
    } catch {
      // a listener's failure must not undo or block a debit that already happened
    }
  }
}

/** After a debit (deduct processor, check path): billing's balance.low and auto top-up hear it, and so do observers. */
export function emitBalanceChanged(e: BalanceChanged): void {
  notify('changed', e);
  notify('observed', e);
}

/** After credits were added or removed (a grant, a refund): observers only, so balance.low and auto top-up stay on debits. */
export function emitBalanceAdjusted(e: BalanceChanged): void {
  notify('observed', e);
}

/** Every change of a balance in this process, debits and grants (the dashboard's live balance). */
export function onBalanceObserved(listener: BalanceListener): () => void {
  hub.on('observed', listener);
  return () => hub.off('observed', listener);
}

/** Where a process sends the balances it saw change (@tally/redis RedisBalanceChannel). */
export interface BalanceBroadcast {
  publish(m: { tenantId: string; customerId: string; creditSystem: string; balanceMicro: string; at?: number }): void;
}

/**
 * Carries this process's balance changes to every process: each composition root (API, workers)
 * calls it once with its channel. Returns the unsubscribe.
 */
export function broadcastBalanceChanges(channel: BalanceBroadcast): () => void {
  return onBalanceObserved((e) =>
    channel.publish({ tenantId: e.tenantId, customerId: e.customerId, creditSystem: e.creditSystem, balanceMicro: e.balanceMicro.toString(), at: e.atMs ?? Date.now() }),
  );
}

export function onBalanceChanged(listener: BalanceListener): () => void {
  hub.on('changed', listener);
  return () => hub.off('changed', listener);
}
