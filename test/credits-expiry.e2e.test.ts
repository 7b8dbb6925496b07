import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import type { UsageEventMessage } from '@tally/contracts';
import { createKafka, KafkajsProducer } from '@tally/kafka';
import { createClickHouse, queryRows, sql } from '@tally/clickhouse';
import { createPool } from '@tally/postgres';
import { createRedis, keys } from '@tally/redis';
import { client, config, eventually, newTenant } from './support/stack.ts';
import { buyNow, saveCard } from './billing.support.ts';
import { checkBalance, event, flushCustomer, grantCredits, meteringTenant, ready, subscribedCustomer, usageTotals } from './metering-helpers.ts';

const pool = createPool(config.DATABASE_URL, 2);
const redis = createRedis(config.REDIS_URL);
redis.on('error', () => {});
const clickhouse = createClickHouse({ url: config.CLICKHOUSE_URL, database: config.CLICKHOUSE_DATABASE, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });

const M = 1_000_000;
const DAY_MS = 86_400_000;
/** docs/metering.md "Credits that expire": a grant without expiry is scored after every expiry. */
const NO_EXPIRY_OFFSET = 10_000_000_000_000;

/** gpt-4 costs 20 credits; the plan gives no allowance, so every credit comes from a pack. */
const catalog = (packs: Record<string, unknown>[]) => ({
  defaultProvider: 'sandbox',
  features: [{ slug: 'gpt-4', type: 'metered', name: 'GPT-4' }],
  creditSystems: [{ slug: 'ai-credits', name: 'AI Credits', features: [{ feature: 'gpt-4', creditCost: 20 }] }],
  creditPacks: packs,
  plans: [
    {
      slug: 'starter', name: 'Starter', price: 0, currency: 'USD', interval: 'monthly',
      features: [{ slug: 'ai-credits', enabled: true, limit: 0, reset: 'monthly', overage: 'block' }, { slug: 'gpt-4', enabled: true }],
    },
  ],
});
const forever = { slug: 'forever', name: 'Forever', credits: 100, price: 500, currency: 'USD', creditSystem: 'ai-credits' };
const month = { slug: 'month', name: 'Month', credits: 100, price: 400, currency: 'USD', creditSystem: 'ai-credits', expiresAfterDays: 30 };

/** The customer's Redis grants (grant id -> micro-credits left), as the ledger holds them. */
async function grantsInRedis(t: string, c: string): Promise<Record<string, number>> {
  await ready();
  const h = await redis.hgetall(keys.grants(t, c, 'ai-credits'));
  return Object.fromEntries(Object.entries(h).filter(([k]) => !k.includes('#')).map(([k, v]) => [k, Number(v)]));
}

/** Which grants each stored row drew from, oldest row first. */
async function rowTakes(t: string, c: string) {
  const rows = await queryRows<{ ids: string[]; takes: (string | number)[] }>(
    clickhouse,
    sql`SELECT grant_ids AS ids, grant_takes AS takes FROM raw_usage_events_v1 FINAL
         WHERE tenant_id = ${t} AND customer_id = ${c} ORDER BY ingested_at, event_id`.text,
  );
  return rows.map((r) => r.ids.map((id, i) => [id, Number(r.takes[i])]));
}

async function track(api: ReturnType<typeof client>, t: string, c: string, n: number) {
  const before = (await usageTotals(t, c)).events;
  const res = await api.post('/v1/track/batch', { events: Array.from({ length: n }, () => event(c, 'gpt-4')) });
  expect(res.body.accepted).toBe(n);
  await eventually(async () => (await usageTotals(t, c)).events === before + n, 30_000);
}

describe('credits that expire', () => {
  it('sync validates expiresAfterDays and the catalog shows it', async () => {
    const tenant = await newTenant('credits-expiry');
    const api = client(tenant.apiKey.secret);
    expect((await api.post('/v1/sync', catalog([forever, month]))).status).toBe(200);
    for (const bad of [0, -3, 2.5, 36_501, '30']) {
      const res = await api.post('/v1/sync', catalog([forever, { ...month, expiresAfterDays: bad }]));
      expect(res.status, `expiresAfterDays ${bad}`).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
      expect(res.body.error.issues[0].path).toBe('creditPacks.1.expiresAfterDays');
    }
    // nothing changed by the refused syncs
    const packs = (await api.get('/v1/credit-packs')).body.creditPacks as { slug: string; expiresAfterDays: number | null }[];
    expect(Object.fromEntries(packs.map((p) => [p.slug, p.expiresAfterDays]))).toEqual({ forever: null, month: 30 });
  });

  it('a purchased pack expires at granted_at + days, is spent before an older pack, and a rebuild after the expiry gives the same numbers', { timeout: 120_000 }, async () => {
    const tenant = await newTenant('credits-expiry');
    const t = tenant.tenantId;
    const api = client(tenant.apiKey.secret);
    expect((await api.post('/v1/sync', catalog([forever, month]))).status).toBe(200);
    const c = await subscribedCustomer(api);
    await saveCard(api, c);
    // bought in the other order: the pack without expiry first, the expiring one second
    const a = await buyNow(api, { customer: c, pack: 'forever' });
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    const b = await buyNow(api, { customer: c, pack: 'month' });
    expect(b.status, JSON.stringify(b.body)).toBe(200);
    const F = a.body.reference as string;
    const X = b.body.reference as string;
    const { rows } = await pool.query<{ id: string; validity_ms: string | null }>(
      `SELECT id, (extract(epoch FROM expires_at - granted_at) * 1000)::bigint::text AS validity_ms FROM credit_grants WHERE tenant_id = $1 AND customer_id = $2`,
      [t, c],
    );
    expect(Object.fromEntries(rows.map((r) => [r.id, r.validity_ms]))).toEqual({ [F]: null, [X]: String(30 * DAY_MS) });

    // 3 calls = 60 credits, all from the expiring pack though it was bought last
    await track(api, t, c, 3);
    expect(await grantsInRedis(t, c)).toEqual({ [F]: 100 * M, [X]: 40 * M });
    expect(await rowTakes(t, c)).toEqual(Array(3).fill([[X, 20 * M]]));
    expect((await checkBalance(api, c)).balance).toBe(140);

    // The validity ends in 4 s (Postgres), the Redis state rebuilt from Postgres + ClickHouse:
    // the expiring pack keeps its own 40 (its takes), not what an oldest-first replay would give it.
    const { rows: moved } = await pool.query<{ ms: string }>(
      `UPDATE credit_grants SET expires_at = now() + interval '4 seconds' WHERE tenant_id = $1 AND id = $2
       RETURNING (extract(epoch FROM expires_at) * 1000)::bigint::text AS ms`,
      [t, X],
    );
    const expiresAtMs = Number(moved[0]!.ms);
    expect(await flushCustomer(t, c)).toBeGreaterThan(0);
    expect((await checkBalance(api, c)).balance).toBe(140);
    expect(await grantsInRedis(t, c)).toEqual({ [F]: 100 * M, [X]: 40 * M });
    if (Date.now() < expiresAtMs - 500) expect((await api.post('/v1/check', { customer: c, feature: 'gpt-4', value: 7 })).body.allowed).toBe(true);

    // The instant passes while the state is in Redis: the 40 left are gone, for check and for track.
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAtMs - Date.now() + 300)));
    expect((await checkBalance(api, c)).balance).toBe(100);
    expect((await api.post('/v1/check', { customer: c, feature: 'gpt-4', value: 5 })).body.allowed).toBe(true);
    expect((await api.post('/v1/check', { customer: c, feature: 'gpt-4', value: 6 })).body).toMatchObject({ allowed: false, code: 'insufficient_credits' });
    await track(api, t, c, 2);
    const strict = await api.post('/v1/check', { customer: c, feature: 'gpt-4', value: 1, sendEvent: true });
    expect(strict.body.allowed).toBe(true);
    await eventually(async () => (await usageTotals(t, c)).events === 6, 30_000);
    // 100 - 2×20 - 20 from the pack without expiry; the expired pack still holds its 40, unusable
    const live = { [F]: 40 * M, [X]: 40 * M };
    expect(await grantsInRedis(t, c)).toEqual(live);
    expect((await rowTakes(t, c)).slice(3)).toEqual(Array(3).fill([[F, 20 * M]]));
    const before = await checkBalance(api, c);
    expect(before.balance).toBe(40);

    // A rebuild after the expiry: the same balance, the same remainder per grant.
    expect(await flushCustomer(t, c)).toBeGreaterThan(0);
    expect(await checkBalance(api, c)).toEqual(before);
    expect(await grantsInRedis(t, c)).toEqual(live);
    // the customer's grants are listed in spending order
    const view = await api.get(`/v1/customers/${c}/balances`);
    expect(view.body.grants.map((g: { id: string }) => g.id)).toEqual([X, F]);
  });

  it('a state written with the old grant-time scores is rescored on first use; a validity moved into the past is gone after a rebuild', { timeout: 60_000 }, async () => {
    const { api, tenantId: t } = await meteringTenant(0);
    const c = await subscribedCustomer(api);
    const grantedOld = Date.now() - 60_000;
    await grantCredits(t, c, 100, new Date(grantedOld));
    const { rows: fr } = await pool.query<{ id: string }>('SELECT id FROM credit_grants WHERE tenant_id = $1 AND customer_id = $2', [t, c]);
    const foreverId = fr[0]!.id;
    // an expiring grant, written to the ledger only: the rebuild brings it into Redis
    const X = randomUUID();
    const grantedNew = Date.now();
    const expiresAt = grantedNew + 30 * DAY_MS;
    await pool.query(
      `INSERT INTO credit_grants (id, tenant_id, customer_id, credit_system, source, credits_micro, granted_at, expires_at)
       VALUES ($1, $2, $3, 'ai-credits', 'manual', $4, $5, $6)`,
      [X, t, c, 100n * 1_000_000n, new Date(grantedNew), new Date(expiresAt)],
    );
    await flushCustomer(t, c);
    expect((await checkBalance(api, c)).balance).toBe(200);
    // as a state built before this change holds it: every grant scored by its grant time
    await ready();
    const order = keys.grantOrder(t, c, 'ai-credits');
    await redis.zadd(order, grantedOld, foreverId, grantedNew, X);
    await track(api, t, c, 1);
    expect(await grantsInRedis(t, c)).toEqual({ [foreverId]: 100 * M, [X]: 80 * M });
    const scores = await redis.zrange(order, 0, -1, 'WITHSCORES');
    expect(scores).toEqual([X, String(expiresAt), foreverId, String(NO_EXPIRY_OFFSET + grantedOld)]);

    // days are the unit: the validity moved into the past in Postgres, then rebuilt
    await pool.query(`UPDATE credit_grants SET expires_at = now() - interval '1 day' WHERE tenant_id = $1 AND id = $2`, [t, X]);
    await flushCustomer(t, c);
    expect((await checkBalance(api, c)).balance).toBe(100);
    expect(await grantsInRedis(t, c)).toEqual({ [foreverId]: 100 * M, [X]: 80 * M });
    await track(api, t, c, 1);
    expect(await grantsInRedis(t, c)).toEqual({ [foreverId]: 80 * M, [X]: 80 * M });
  });

  it('an event is judged at the instant it was accepted: accepted before the expiry and applied after, it still draws from the expiring grant', { timeout: 60_000 }, async () => {
    const { api, tenantId: t } = await meteringTenant(0);
    const c = await subscribedCustomer(api);
    await grantCredits(t, c, 100, new Date(Date.now() - 60_000));
    const { rows: fr } = await pool.query<{ id: string }>('SELECT id FROM credit_grants WHERE tenant_id = $1 AND customer_id = $2', [t, c]);
    const F = fr[0]!.id;
    const X = randomUUID();
    const { rows: xr } = await pool.query<{ ms: string }>(
      `INSERT INTO credit_grants (id, tenant_id, customer_id, credit_system, source, credits_micro, granted_at, expires_at)
       VALUES ($1, $2, $3, 'ai-credits', 'manual', $4, now(), now() + interval '2 seconds')
       RETURNING (extract(epoch FROM expires_at) * 1000)::bigint::text AS ms`,
      [X, t, c, 100n * 1_000_000n],
    );
    const expiresAtMs = Number(xr[0]!.ms);
    await flushCustomer(t, c);
    expect((await checkBalance(api, c)).balance).toBe(200);
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAtMs - Date.now() + 1_000)));
    expect((await checkBalance(api, c)).balance).toBe(100);

    // Two events that reach the pipeline only now (as after a lag): one accepted 500 ms before the
    // expiry, one 500 ms after it. Unstamped, so the worker prices them, at their acceptedAt.
    const message = (acceptedAt: number): UsageEventMessage => ({
      tenantId: t, id: `evt_${randomUUID()}`, customer: c, feature: 'gpt-4', valueMicro: '1000000', timestamp: acceptedAt, acceptedAt, source: 'live', properties: {},
    });
    const before = message(expiresAtMs - 500);
    const after = message(expiresAtMs + 500);
    const producer = new KafkajsProducer(createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'e2e-credits-expiry' }));
    await producer.connect();
    try {
      await producer.send(inject('stackEnv').KAFKA_TOPIC_EVENTS!, [before, after].map((m) => ({ key: `${t}:${c}`, value: JSON.stringify(m) })));
    } finally {
      await producer.disconnect();
    }
    await eventually(async () => (await usageTotals(t, c)).events === 2, 30_000);
    const live = { [F]: 80 * M, [X]: 80 * M };
    expect(await grantsInRedis(t, c)).toEqual(live);
    const takes = await queryRows<{ event_id: string; ids: string[] }>(
      clickhouse,
      sql`SELECT event_id, grant_ids AS ids FROM raw_usage_events_v1 FINAL WHERE tenant_id = ${t} AND customer_id = ${c}`.text,
    );
    expect(Object.fromEntries(takes.map((r) => [r.event_id, r.ids]))).toEqual({ [before.id]: [X], [after.id]: [F] });
    const answer = await checkBalance(api, c);
    expect(answer.balance).toBe(80);
    await flushCustomer(t, c);
    expect(await checkBalance(api, c)).toEqual(answer);
    expect(await grantsInRedis(t, c)).toEqual(live);
  });
  it('a refund after the expiry pays nothing for the expired credits (unspent policy), and the unexpired pack refunds its unspent share', { timeout: 120_000 }, async () => {
    const tenant = await newTenant('credits-expiry');
    const t = tenant.tenantId;
    const api = client(tenant.apiKey.secret);
    expect((await api.post('/v1/sync', catalog([forever, month]))).status).toBe(200);
    const c = await subscribedCustomer(api);
    await saveCard(api, c);
    const X = (await buyNow(api, { customer: c, pack: 'month' })).body.reference as string;
    const F = (await buyNow(api, { customer: c, pack: 'forever' })).body.reference as string;
    await track(api, t, c, 1); // 20 credits, from the expiring pack: 80 of it left
    // the expiring pack's validity ends (moved into the past in Postgres, the state rebuilt from it)
    await pool.query(`UPDATE credit_grants SET expires_at = now() - interval '1 second' WHERE tenant_id = $1 AND id = $2`, [t, X]);
    await flushCustomer(t, c);
    expect((await checkBalance(api, c)).balance).toBe(100); // only the pack without expiry counts
    const view = (await api.get(`/v1/customers/${c}/balances`)).body;
    expect(view.grants.map((g: { id: string; remaining: number }) => [g.id, g.remaining])).toEqual([[X, 0], [F, 100]]);
    const expired = await api.post(`/v1/purchases/${X}/refund`);
    expect(expired.status, JSON.stringify(expired.body)).toBe(200);
    expect(expired.body.amount).toBe(0); // 80 credits left, but expired: nothing to pay back
    // the other pack, untouched: all of its price (100 of 100 unspent)
    const kept = await api.post(`/v1/purchases/${F}/refund`);
    expect(kept.body.amount).toBe(forever.price);
    expect((await checkBalance(api, c)).balance).toBe(0);
  });
});
