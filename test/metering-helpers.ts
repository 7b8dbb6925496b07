import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { expect } from 'vitest';
import { CatalogRepo, CatalogService, CustomerRepo, CustomerService } from '@tally/catalog';
import { createClickHouse, queryRows, sql } from '@tally/clickhouse';
import { createBalanceServices, LocalBalanceEvents } from '@tally/metering';
import { createPool } from '@tally/postgres';
import { createRedis, deleteKeys, keys, scanKeys } from '@tally/redis';
import { createLogger } from '@tally/runtime';
import { client, config, newTenant } from './support/stack.ts';

const pool = createPool(config.DATABASE_URL, 2);
const redis = createRedis(config.REDIS_URL);
redis.on('error', () => {});
const clickhouse = createClickHouse({ url: config.CLICKHOUSE_URL, database: config.CLICKHOUSE_DATABASE, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });
const catalog = new CatalogService(new CatalogRepo(pool));
const customers = new CustomerService(new CustomerRepo(pool), catalog);
const { balances } = createBalanceServices({
  redis,
  pool,
  clickhouse,
  directory: { snapshot: (t) => catalog.snapshot(t), context: (t, c) => customers.context(t, c) },
  logger: createLogger('e2e', 'silent'),
  clickhouseDatabase: config.CLICKHOUSE_DATABASE,
  events: new LocalBalanceEvents(),
});

export const ready = async () => {
  if (redis.status !== 'ready') await once(redis, 'ready');
};

/**
 * The seed's catalog: gpt-4 (20 credits a call) and dall-e (50) in
 * ai-credits; a free plan giving `allowance` credits a month.
 */
export async function meteringTenant(allowance = 100, overage: 'block' | 'charge' = 'block', base?: string) {
  const tenant = await newTenant('metering');
  const api = client(tenant.apiKey.secret, base);
  const sync = await api.post('/v1/sync', {
    features: [
      { slug: 'gpt-4', type: 'metered', name: 'GPT-4' },
      { slug: 'dall-e', type: 'metered', name: 'DALL-E' },
      { slug: 'seats', type: 'metered', name: 'Seats' },
    ],
    creditSystems: [{ slug: 'ai-credits', name: 'AI Credits', features: [{ feature: 'gpt-4', creditCost: 20 }, { feature: 'dall-e', creditCost: 50 }] }],
    creditPacks: [],
    plans: [
      {
        slug: 'starter', name: 'Starter', price: 0, currency: 'USD', interval: 'monthly',
        features: [
          { slug: 'ai-credits', enabled: true, limit: allowance, reset: 'monthly', overage },
          { slug: 'seats', enabled: true, limit: 3, reset: 'monthly', overage: 'block' },
        ],
      },
    ],
  });
  expect(sync.status, JSON.stringify(sync.body)).toBe(200);
  return { tenant, tenantId: tenant.tenantId, api };
}

/** A customer on the free plan. */
export async function subscribedCustomer(api: ReturnType<typeof client>, id = `cus_${randomUUID().slice(0, 8)}`) {
  const created = await api.post('/v1/customers', { id, email: `${id}@example.com` });
  expect(created.status, JSON.stringify(created.body)).toBeLessThan(300);
  const attached = await api.post('/v1/attach', { customer: id, product: 'starter' });
  expect(attached.status, JSON.stringify(attached.body)).toBe(200);
  return id;
}

/** Purchased credits as billing records them: a ledger row in Postgres, then the grant in Redis. */
export async function grantCredits(tenantId: string, customerId: string, credits: number, grantedAt = new Date()) {
  const grantId = randomUUID();
  const creditsMicro = BigInt(credits) * 1_000_000n;
  await pool.query(
    `INSERT INTO credit_grants (id, tenant_id, customer_id, credit_system, source, credits_micro, granted_at)
     VALUES ($1, $2, $3, 'ai-credits', 'manual', $4, $5)`,
    [grantId, tenantId, customerId, creditsMicro, grantedAt],
  );
  await ready();
  return balances.applyGrant({ tenantId, customerId, creditSystem: 'ai-credits', grantId, creditsMicro, grantedAt });
}

/** Deletes every Redis key of one customer (never anything else), as a lost Redis would. */
export async function flushCustomer(tenantId: string, customerId: string): Promise<number> {
  await ready();
  const pattern = `tally:${keys.customerTag(tenantId, customerId).replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;
  let deleted = 0;
  // every master of a Cluster (one holds the customer's slot)
  for await (const found of scanKeys(redis, pattern)) deleted += await deleteKeys(redis, found);
  return deleted;
}

export interface UsageTotals {
  events: number;
  plan: number;
  purchased: number;
  overage: number;
}

/** What ClickHouse holds for one customer, each event once (FINAL collapses replays). */
export async function usageTotals(tenantId: string, customerId: string): Promise<UsageTotals> {
  const rows = await queryRows<{ events: string; plan: string; purchased: string; overage: string }>(
    clickhouse,
    sql`SELECT toString(count()) AS events, toString(sum(credits_plan_micro)) AS plan,
               toString(sum(credits_purchased_micro)) AS purchased, toString(sum(credits_overage_micro)) AS overage
          FROM raw_usage_events_v1 FINAL WHERE tenant_id = ${tenantId} AND customer_id = ${customerId}`.text,
  );
  const r = rows[0]!;
  return { events: Number(r.events), plan: Number(r.plan) / 1e6, purchased: Number(r.purchased) / 1e6, overage: Number(r.overage) / 1e6 };
}

/** Rows per event id without FINAL: how many physical copies exist (replays before a merge). */
export async function distinctEvents(tenantId: string, customerId: string): Promise<number> {
  const rows = await queryRows<{ n: string }>(
    clickhouse,
    sql`SELECT toString(uniqExact(event_id)) AS n FROM raw_usage_events_v1 WHERE tenant_id = ${tenantId} AND customer_id = ${customerId}`.text,
  );
  return Number(rows[0]!.n);
}

export const checkBalance = async (api: ReturnType<typeof client>, customer: string, feature = 'gpt-4') => {
  const res = await api.post('/v1/check', { customer, feature, value: 0 });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
};

export const event = (customer: string, feature: string, value = 1, extra: Record<string, unknown> = {}) => ({
  id: `evt_${randomUUID()}`,
  customer,
  feature,
  value,
  ...extra,
});
