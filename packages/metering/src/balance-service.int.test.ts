import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toMicro } from '@tally/core';
import { BalanceService } from './balance-service.ts';
import { Rebuilder } from './rebuild.ts';
import { RedisLedgerStore } from './ledger/index.ts';
import { LocalBalanceEvents } from './balance-events.ts';
import { seedCatalog } from './testing/fixtures.ts';
import { testStores } from './testing/stores.ts';

const stores = testStores();
const { config, redis, pool, clickhouse, logger } = stores;

beforeAll(stores.ready);
afterAll(stores.close);

function service(allowance: number | null) {
  const seed = seedCatalog(allowance);
  const rebuilder = new Rebuilder({ redis, pool, clickhouse, directory: seed.directory, logger }, config.CLICKHOUSE_DATABASE);
  const events = new LocalBalanceEvents();
  return { ...seed, events, balances: new BalanceService(new RedisLedgerStore(redis), seed.directory, rebuilder, events) };
}

describe('BalanceService', () => {
  it('applies a grant once however often it is applied', async () => {
    const { tenantId, balances } = service(100);
    const ref = { tenantId, customerId: 'c1', creditSystem: 'ai-credits' };
    const grant = { ...ref, grantId: randomUUID(), creditsMicro: toMicro(500), grantedAt: new Date() };
    expect((await balances.applyGrant(grant)).balanceMicro).toBe(toMicro(600));
    expect((await balances.applyGrant(grant)).balanceMicro).toBe(toMicro(600));
    expect(await balances.balance(ref)).toEqual({ planMicro: toMicro(100), purchasedMicro: toMicro(500), totalMicro: toMicro(600), unlimited: false, usedMicro: 0n, overageMicro: 0n });
  });

  it('revokes what is left of a grant once, and answers the same amount when asked again', async () => {
    const { tenantId, balances } = service(0);
    const ref = { tenantId, customerId: 'c2', creditSystem: 'ai-credits' };
    const a = { ...ref, grantId: randomUUID(), creditsMicro: toMicro(30), grantedAt: new Date(1000) };
    const b = { ...ref, grantId: randomUUID(), creditsMicro: toMicro('12.5'), grantedAt: new Date(2000) };
    await balances.applyGrant(a);
    await balances.applyGrant(b);
    expect((await balances.revokeGrant(b)).revokedMicro).toBe(toMicro('12.5'));
    // a retry (e.g. a refund that crashed before recording the amount) learns the same amount, and nothing more is taken
    expect((await balances.revokeGrant(b)).revokedMicro).toBe(toMicro('12.5'));
    expect((await balances.balance(ref)).totalMicro).toBe(toMicro(30));
    await balances.applyGrant(b); // re-applying a revoked grant does not bring it back
    expect((await balances.balance(ref)).totalMicro).toBe(toMicro(30));
  });

  it('does not count an expired grant', async () => {
    const { tenantId, balances } = service(0);
    const ref = { tenantId, customerId: 'c3', creditSystem: 'ai-credits' };
    await balances.applyGrant({ ...ref, grantId: randomUUID(), creditsMicro: toMicro(9), grantedAt: new Date(1), expiresAt: new Date(Date.now() - 1000) });
    await balances.applyGrant({ ...ref, grantId: randomUUID(), creditsMicro: toMicro(4), grantedAt: new Date(2) });
    expect((await balances.balance(ref)).purchasedMicro).toBe(toMicro(4));
  });

  it('reports a grant to its signal as an adjustment (observers), not as a debit', async () => {
    const { tenantId, balances, events } = service(0);
    const debits: bigint[] = [];
    const observed: bigint[] = [];
    const offDebits = events.onChanged((e) => debits.push(e.balanceMicro));
    const offObserved = events.onObserved((e) => observed.push(e.balanceMicro));
    await balances.applyGrant({ tenantId, customerId: 'c4', creditSystem: 'ai-credits', grantId: randomUUID(), creditsMicro: toMicro(3), grantedAt: new Date() });
    offDebits();
    offObserved();
    expect(debits).toEqual([]);
    expect(observed).toEqual([toMicro(3)]);
  });
});
