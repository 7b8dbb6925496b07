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

/**
 * The balance-changed signal of one process. Each composition root (API, workers) builds
 * one (`new LocalBalanceEvents()`) and hands it to every service that changes a balance
 * (BalanceService, CheckService, DeductService) and to every hook that listens.
 */
export interface BalanceEvents {
  /** After a debit (deduct processor, check path): billing's balance.low and auto top-up hear it, and so do observers. */
  changed(e: BalanceChanged): void;
  /** After credits were added or removed (a grant, a refund): observers only, so balance.low and auto top-up stay on debits. */
  adjusted(e: BalanceChanged): void;
  /** Debits only. Returns the unsubscribe. */
  onChanged(listener: BalanceListener): () => void;
  /** Every change of a balance, debits and grants (the dashboard's live balance). Returns the unsubscribe. */
  onObserved(listener: BalanceListener): () => void;
}

/** In-process listeners, called synchronously in the order they subscribed. */
export class LocalBalanceEvents implements BalanceEvents {
  private readonly debits = new Set<BalanceListener>();
  private readonly observers = new Set<BalanceListener>();

  changed(e: BalanceChanged): void {
    notify(this.debits, e);
    notify(this.observers, e);
  }

  adjusted(e: BalanceChanged): void {
    notify(this.observers, e);
  }

  onChanged(listener: BalanceListener): () => void {
    return subscribe(this.debits, listener);
  }

  onObserved(listener: BalanceListener): () => void {
    return subscribe(this.observers, listener);
  }
}

function subscribe(set: Set<BalanceListener>, listener: BalanceListener): () => void {
  // a wrapper per subscription, so the same function subscribed twice is called twice and unsubscribed once
  const entry: BalanceListener = (e) => listener(e);
  set.add(entry);
  return () => void set.delete(entry);
}

function notify(set: Set<BalanceListener>, e: BalanceChanged): void {
  for (const listener of [...set]) {
    try {
      listener(e);
    } catch {
      // a listener's failure must not undo or block a debit that already happened
    }
  }
}

/** Where a process sends the balances it saw change (@tally/redis RedisBalanceChannel). */
export interface BalanceBroadcast {
  publish(m: { tenantId: string; customerId: string; creditSystem: string; balanceMicro: string; at?: number }): void;
}

/**
 * Carries this process's balance changes to every process: each composition root (API, workers)
 * calls it once with its signal and its channel. Returns the unsubscribe.
 */
export function broadcastBalanceChanges(events: BalanceEvents, channel: BalanceBroadcast): () => void {
  return events.onObserved((e) =>
    channel.publish({ tenantId: e.tenantId, customerId: e.customerId, creditSystem: e.creditSystem, balanceMicro: e.balanceMicro.toString(), at: e.atMs ?? Date.now() }),
  );
}
