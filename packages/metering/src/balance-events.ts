import { EventEmitter } from 'node:events';

export interface BalanceChanged {
  tenantId: string;
  customerId: string;
  creditSystem: string;
  /** Plan allowance left plus purchased credits left (micro); plan part counts 0 when unlimited. */
  balanceMicro: bigint;
}

export type BalanceListener = (e: BalanceChanged) => void;

// One hub per process: every BalanceService instance (billing's, the deduct
// processor's, the API's check path) shares the listeners.
const hub = new EventEmitter();
hub.setMaxListeners(100);

export function emitBalanceChanged(e: BalanceChanged): void {
  for (const listener of hub.listeners('changed') as BalanceListener[]) {
    try {
      listener(e);
    } catch {
      // a listener's failure must not undo or block a debit that already happened
    }
  }
}

export function onBalanceChanged(listener: BalanceListener): () => void {
  hub.on('changed', listener);
  return () => hub.off('changed', listener);
}
