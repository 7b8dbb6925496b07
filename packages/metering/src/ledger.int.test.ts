import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consume, toMicro, type GrantState, type MeterState } from '@tally/core';
import { keys, scripts } from '@tally/redis';
import { BalanceService } from './balance-service.ts';
import { LocalBalanceEvents } from './balance-events.ts';
import { Rebuilder } from './rebuild.ts';
import { seedCatalog } from './testing/fixtures.ts';
import { testStores } from './testing/stores.ts';
import { customerPlan, meterArgs, meterForFeature } from './meter-context.ts';
import { dedupGenerations, idDigest, meterKeys, RedisLedgerStore, runCheckScript } from './ledger/index.ts';

const stores = testStores();
const { config, redis, pool, clickhouse, logger } = stores;

beforeAll(stores.ready);
afterAll(stores.close);

async function setup(allowance: number) {
  const seed = seedCatalog(allowance, 'charge');
  const rebuilder = new Rebuilder({ redis, pool, clickhouse, directory: seed.directory, logger }, config.CLICKHOUSE_DATABASE);
  const balances = new BalanceService(new RedisLedgerStore(redis), seed.directory, rebuilder, new LocalBalanceEvents());
  const customer = `c-${randomUUID().slice(0, 6)}`;
  const grants: GrantState[] = [];
  for (const [credits, at] of [[30, 2000], [45.5, 1000], [10, 3000]] as const) {
    const g = { id: randomUUID(), remainingMicro: toMicro(credits), grantedAtMs: at, expiresAtMs: null };
    grants.push(g);
    await balances.applyGrant({ tenantId: seed.tenantId, customerId: customer, creditSystem: 'ai-credits', grantId: g.id, creditsMicro: g.remainingMicro, grantedAt: new Date(at) });
  }
  const cp = await customerPlan(seed.directory, seed.tenantId, customer);
  const resolved = meterForFeature(cp, 'gpt-4');
  if (!resolved.ok) throw new Error('gpt-4 should meter');
  const args = meterArgs(cp, resolved.def, new Date());
  const strict = (credits: bigint, id = randomUUID()) =>
    runCheckScript(new RedisLedgerStore(redis), rebuilder, seed.tenantId, customer, args, { neededMicro: credits, send: { digest: idDigest(id), fingerprint: Buffer.from('fp01'), neededMicro: credits } });
  return { ...seed, customer, grants, balances, strict };
}

describe('the Redis ledger (Lua) against the pure consumption order', () => {
  it('splits every debit exactly as consume() does', async () => {
    const { strict, grants, balances, tenantId, customer } = await setup(55);
    let model: MeterState = { limitMicro: toMicro(55), usedMicro: 0n, grants };
    const amounts = [20, 20, 0.000001, 17.5, 40, 33.3, 5, 50, 1].map((n) => toMicro(n));
    for (const amount of amounts) {
      const expected = consume(model, amount, Date.now());
      model = expected.state;
      const got = await strict(amount);
      expect(got.split).toEqual(expected.split);
    }
    const balance = await balances.balance({ tenantId, customerId: customer, creditSystem: 'ai-credits' });
    expect(balance.purchasedMicro).toBe(model.grants.reduce((s, g) => s + g.remainingMicro, 0n));
    expect(balance.planMicro).toBe(0n);
  });

  it('undoes a strict debit exactly (grants, plan, overage and the id)', async () => {
    const { strict, balances, tenantId, customer } = await setup(10);
    const ref = { tenantId, customerId: customer, creditSystem: 'ai-credits' };
    const before = await balances.balance(ref);
    const id = randomUUID();
    const debit = await strict(toMicro(100), id);
    expect(debit.split).toEqual({ planMicro: toMicro(10), purchasedMicro: toMicro(85.5), overageMicro: toMicro(4.5) });
    const gen = dedupGenerations(Date.now());
    const [meterKey, grantsKey, orderKey] = meterKeys(tenantId, customer, 'ai-credits') as [string, string, string];
    const undone = await scripts.undoDebit.run(redis, [meterKey, grantsKey, orderKey, keys.seenEvents(tenantId, customer, gen.current), keys.appliedLog(tenantId, customer)], [idDigest(id)]);
    expect(undone).toBe(1);
    expect(await balances.balance(ref)).toEqual(before);
    expect(await redis.hget(meterKey, 'overage')).toBe('0');
    // the id is free again: the same debit applies anew, in the same order
    expect((await strict(toMicro(100), id)).split).toEqual(debit.split);
  });
});
