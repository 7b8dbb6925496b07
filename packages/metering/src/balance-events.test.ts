import { describe, expect, it } from 'vitest';
import { LocalBalanceEvents, broadcastBalanceChanges, type BalanceChanged } from './balance-events.ts';

const change = (balanceMicro: bigint): BalanceChanged => ({ tenantId: 't', customerId: 'c', creditSystem: 's', balanceMicro, atMs: 5 });

describe('LocalBalanceEvents', () => {
  it('tells debit listeners about debits only, observers about debits and adjustments', () => {
    const events = new LocalBalanceEvents();
    const debits: bigint[] = [];
    const observed: bigint[] = [];
    events.onChanged((e) => debits.push(e.balanceMicro));
    events.onObserved((e) => observed.push(e.balanceMicro));
    events.changed(change(1n));
    events.adjusted(change(2n));
    expect(debits).toEqual([1n]);
    expect(observed).toEqual([1n, 2n]);
  });

  it('stops calling a listener once unsubscribed, and keeps instances apart', () => {
    const a = new LocalBalanceEvents();
    const b = new LocalBalanceEvents();
    const seen: bigint[] = [];
    const off = a.onChanged((e) => seen.push(e.balanceMicro));
    b.changed(change(9n)); // another process's (or test's) signal
    a.changed(change(7n));
    off();
    a.changed(change(8n));
    expect(seen).toEqual([7n]);
  });

  it('keeps notifying the other listeners when one throws', () => {
    const events = new LocalBalanceEvents();
    const seen: bigint[] = [];
    events.onChanged(() => {
      throw new Error('listener failed');
    });
    events.onChanged((e) => seen.push(e.balanceMicro));
    expect(() => events.changed(change(3n))).not.toThrow();
    expect(seen).toEqual([3n]);
  });

  it('broadcasts every observed change with its balance as a string', () => {
    const events = new LocalBalanceEvents();
    const published: unknown[] = [];
    const off = broadcastBalanceChanges(events, { publish: (m) => void published.push(m) });
    events.adjusted(change(4n));
    off();
    events.changed(change(6n));
    expect(published).toEqual([{ tenantId: 't', customerId: 'c', creditSystem: 's', balanceMicro: '4', at: 5 }]);
  });
});
