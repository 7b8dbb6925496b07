import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toMicro, type CatalogSnapshot, type EntitlementDef, type PlanDef, type SubscriptionDef } from '@tally/core';
import { TenantService } from '@tally/catalog';
import { clickHouseFromEnv } from '@tally/clickhouse';
import { BalanceService, LocalBalanceEvents, Rebuilder, RedisLedgerStore, type MeteringDirectory } from '@tally/metering';
import { createPool, withTransaction } from '@tally/postgres';
import { createRedis, keys } from '@tally/redis';
import { createLogger, parseConfig, sharedEnv } from '@tally/runtime';
import { GrantRepo } from '../purchases/grant-repo.ts';
import { PurchaseRepo } from '../purchases/purchase-repo.ts';
import { pgTransactor } from '../store.ts';
import { DeliveryRepo } from '../webhooks/delivery-repo.ts';
import { WebhookEmitter } from '../webhooks/webhook-emitter.ts';
import { WebhookQueue } from '../webhooks/webhook-delivery.queue.ts';
import { Fulfilment } from './fulfilment.ts';

/** Real Postgres (ledger), Redis (balances) and metering's BalanceService; the catalog lookup is plain data. */
const config = parseConfig(sharedEnv);
const pool = createPool(config.DATABASE_URL, 12);
const redis = createRedis(config.REDIS_URL);
const clickhouse = clickHouseFromEnv(config);
const logger = createLogger('test', 'silent');
const queue = new WebhookQueue(config.REDIS_URL);

beforeAll(async () => {
  if (redis.status !== 'ready') await once(redis, 'ready');
});
afterAll(async () => {
  await queue.close();
  redis.disconnect();
  await clickhouse.close();
  await pool.end();
});

function directoryFor(tenantId: string): MeteringDirectory {
  const allowance: EntitlementDef = {
    slug: 'ai-credits', kind: 'credit_system', enabled: true, limitMicro: toMicro(100), trialLimitMicro: null, reset: 'monthly', overage: 'block', creditCostMicro: null,
  };
  const plan = { id: randomUUID(), slug: 'starter', name: 'Starter', entitlements: new Map([['ai-credits', allowance]]) } as unknown as PlanDef;
  const snapshot = {
    tenantId, version: 1n, defaultProvider: 'sandbox', creditPacks: new Map(), plans: new Map([['starter', plan]]), features: new Map(),
    creditSystems: new Map([['ai-credits', { id: randomUUID(), slug: 'ai-credits', name: 'AI', description: null, members: new Map() }]]),
  } as unknown as CatalogSnapshot;
  const subscription: SubscriptionDef = { id: randomUUID(), planSlug: 'starter', status: 'active', anchorAt: new Date(Date.now() - 3600_000), trialEndsAt: null };
  return { snapshot: async () => snapshot, context: async () => ({ subscription }) };
}

async function setup() {
  const { tenantId } = await new TenantService(pool).createTenant(`billing-int-${Date.now()}`);
  const directory = directoryFor(tenantId);
  const balances = new BalanceService(new RedisLedgerStore(redis), directory, new Rebuilder({ redis, pool, clickhouse, directory, logger }, config.CLICKHOUSE_DATABASE), new LocalBalanceEvents());
  const purchases = new PurchaseRepo(pool);
  const tx = pgTransactor(pool);
  const fulfilment = new Fulfilment(tx, purchases, new GrantRepo(pool), balances, new WebhookEmitter(tx, new DeliveryRepo(pool), queue, logger), logger);
  const customerId = `c-${randomUUID().slice(0, 8)}`;
  const buy = async (packs: number) =>
    (
      await purchases.create({
        id: randomUUID(), tenantId, customerId, packId: randomUUID(), packSlug: '500-ai-credits', packName: '500 AI Credits', creditSystem: 'ai-credits', quantity: packs,
        creditsMicro: toMicro(500 * packs), amountMinor: BigInt(1000 * packs), currency: 'USD', provider: 'sandbox', source: 'purchase',
        idempotencyKey: null, callbackUrl: null, metadata: {}, refundPolicy: 'unspent',
      })
    ).purchase;
  const ref = { tenantId, customerId, creditSystem: 'ai-credits' };
  const ledger = async () =>
    (await pool.query('SELECT count(*)::int AS n, coalesce(sum(credits_micro), 0)::bigint AS sum FROM credit_grants WHERE tenant_id = $1', [tenantId])).rows[0] as {
      n: number;
      sum: bigint;
    };
  return { tenantId, customerId, balances, purchases, fulfilment, buy, ref, ledger };
}

describe('Fulfilment', () => {
  it('credits once when the worker and any number of webhook deliveries race', async () => {
    const { tenantId, balances, purchases, fulfilment, buy, ref, ledger } = await setup();
    const p = await buy(3);
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => fulfilment.fulfil(tenantId, p.id, 'ch_same')));
    expect(outcomes.every((o) => o.status === 'completed')).toBe(true);
    expect(await ledger()).toEqual({ n: 1, sum: toMicro(1500) });
    expect((await balances.balance(ref)).totalMicro).toBe(toMicro(1600));
    expect((await purchases.get(tenantId, p.id))?.status).toBe('completed');
  });

  it('resumes a purchase left paid by a crash, and the ledger rebuilds to the same balance', async () => {
    const { tenantId, customerId, balances, purchases, fulfilment, buy, ref, ledger } = await setup();
    await fulfilment.fulfil(tenantId, (await buy(1)).id, 'ch_1');
    // Simulate a crash after step (1): ledger row written and purchase paid, grant not yet in Redis.
    const p = await buy(2);
    await withTransaction(pool, async (tx) => {
      await tx.query(
        `INSERT INTO credit_grants (id, tenant_id, customer_id, credit_system, purchase_id, source, credits_micro) VALUES ($1, $2, $3, 'ai-credits', $1, 'purchase', $4)`,
        [p.id, tenantId, customerId, p.creditsMicro],
      );
      await purchases.markPaid(tx, tenantId, p.id, 'ch_2');
    });
    expect((await balances.balance(ref)).totalMicro).toBe(toMicro(600));
    await fulfilment.applyPaid((await purchases.get(tenantId, p.id))!);
    await fulfilment.fulfil(tenantId, p.id, 'ch_2');
    expect(await ledger()).toEqual({ n: 2, sum: toMicro(1500) });
    expect((await balances.balance(ref)).totalMicro).toBe(toMicro(1600));

    // Redis loses this customer: the balance rebuilt from the ledger is the same.
    await redis.del(keys.hydrated(tenantId, customerId));
    expect((await balances.balance(ref)).totalMicro).toBe(toMicro(1600));
  });
});
