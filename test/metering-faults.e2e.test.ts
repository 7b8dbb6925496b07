import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createKafka, KafkajsAdmin } from '@tally/kafka';
import { client, config, eventually } from './support/stack.ts';
import { clickhouseProxy } from './support/clickhouse-proxy.ts';
import { freePort, startApp, type AppProcess } from './support/processes.ts';
import { checkBalance, distinctEvents, grantCredits, meteringTenant, subscribedCustomer, usageTotals } from './metering-helpers.ts';

const started: AppProcess[] = [];
afterAll(async () => {
  for (const app of started) await app.stop('SIGKILL');
});

async function ownApp(app: 'api' | 'workers', env: Record<string, string>, readyPath?: string) {
  const p = await startApp(app, { ...inject('stackEnv'), ...env }, 60_000, readyPath);
  started.push(p);
  return p;
}

describe('metering: dependencies down', () => {
  it('answers 503 to track and check when Redis is unreachable', async () => {
    const { api: setup, tenant } = await meteringTenant(100);
    const customer = await subscribedCustomer(setup);
    const dead = await ownApp('api', { REDIS_URL: `redis://127.0.0.1:${await freePort()}` }, '/healthz');
    const down = client(tenant.apiKey.secret, dead.url);
    const check = await down.post('/v1/check', { customer, feature: 'gpt-4' });
    expect(check.status, JSON.stringify(check.body)).toBe(503);
    expect(check.headers.get('retry-after')).toBeTruthy();
    const track = await down.post('/v1/track/batch', { events: [{ id: randomUUID(), customer, feature: 'gpt-4' }] });
    expect(track.status).toBe(503);
    await dead.stop();
  });

  it('answers 503 to track when Kafka is unreachable and reports nothing accepted', async () => {
    const { api: setup, tenant } = await meteringTenant(100);
    const customer = await subscribedCustomer(setup);
    const dead = await ownApp('api', { KAFKA_BROKERS: `127.0.0.1:${await freePort()}` }, '/healthz');
    const down = client(tenant.apiKey.secret, dead.url);
    const track = await down.post('/v1/track/batch', { events: [{ id: randomUUID(), customer, feature: 'gpt-4' }] });
    expect(track.status).toBe(503);
    expect(track.body.results).toBeUndefined();
    const single = await down.post('/v1/track', { customer, feature: 'gpt-4' });
    expect(single.status).toBe(503);
    // the strict path debits, fails to publish, gives the credits back and answers 503
    const strict = await down.post('/v1/check', { customer, feature: 'gpt-4', sendEvent: true });
    expect(strict.status).toBe(503);
    expect(await checkBalance(setup, customer)).toMatchObject({ usage: 0, balance: 100 });
    await dead.stop();
  });
});

describe('metering: ClickHouse down', () => {
  it('keeps debiting, holds the rows back while ClickHouse is away, then writes every one exactly once', async () => {
    const run = randomUUID().slice(0, 8);
    const env = { KAFKA_TOPIC_EVENTS: `tally.usage-events.chdown-${run}`, KAFKA_CONSUMER_GROUP: `tally-metering-chdown-${run}` };
    const admin = new KafkajsAdmin(createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'e2e-chdown' }));
    await admin.ensureTopic(env.KAFKA_TOPIC_EVENTS, 6, 1);
    await admin.disconnect();
    const port = await freePort();
    const proxy = await clickhouseProxy(port);
    const apiApp = await ownApp('api', env);
    await ownApp('workers', { ...env, PUBLIC_URL: apiApp.url, CLICKHOUSE_URL: `http://127.0.0.1:${port}` });
    const { api, tenantId } = await meteringTenant(100_000, 'block', apiApp.url);
    const customer = await subscribedCustomer(api);
    const send = async (n: number, from: number) => {
      const events = Array.from({ length: n }, (_, i) => ({ id: `ch-${run}-${from + i}`, customer, feature: 'gpt-4' }));
      expect((await api.post('/v1/track/batch', { events })).body.accepted).toBe(n);
    };

    await send(200, 0);
    // the first wait covers the fresh consumer group's join as well (slow on a busy CI machine)
    await eventually(async () => (await usageTotals(tenantId, customer)).events === 200, 60_000, 250);

    await proxy.down();
    await send(300, 200);
    // the ledger still moves (balances stay current) ...
    await eventually(async () => (await checkBalance(api, customer)).usage === 500 * 20, 60_000, 250);
    // ... while no row can reach ClickHouse
    await new Promise((r) => setTimeout(r, 2000));
    expect((await usageTotals(tenantId, customer)).events).toBe(200);

    await proxy.up();
    await eventually(async () => (await usageTotals(tenantId, customer)).events === 500, 60_000, 250);
    expect(await usageTotals(tenantId, customer)).toEqual({ events: 500, plan: 10_000, purchased: 0, overage: 0 });
    expect(await distinctEvents(tenantId, customer)).toBe(500);
    await proxy.down();
  }, 120_000);
});

describe('metering: kill -9 of the workers mid-run', () => {
  it('leaves every balance and ClickHouse total exactly as a clean run would', async () => {
    const run = randomUUID().slice(0, 8);
    const env = { KAFKA_TOPIC_EVENTS: `tally.usage-events.kill-${run}`, KAFKA_CONSUMER_GROUP: `tally-metering-kill-${run}` };
    const admin = new KafkajsAdmin(createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'e2e-kill' }));
    await admin.ensureTopic(env.KAFKA_TOPIC_EVENTS, 6, 1);
    await admin.disconnect();
    const apiApp = await ownApp('api', env);
    let workers = await ownApp('workers', { ...env, PUBLIC_URL: apiApp.url });

    const allowance = 2000;
    const { api, tenantId } = await meteringTenant(allowance, 'block', apiApp.url);
    const customers = [await subscribedCustomer(api), await subscribedCustomer(api), await subscribedCustomer(api)];
    for (const c of customers) await grantCredits(tenantId, c, 3000);

    // 3,000 events over 10 batches, each event id sent twice somewhere; the workers are killed 3 times
    const cost = { 'gpt-4': 20, 'dall-e': 50 } as const;
    const expected = new Map(customers.map((c) => [c, 0]));
    const events = Array.from({ length: 3000 }, (_, i) => {
      const customer = customers[i % 3]!;
      const feature = i % 7 === 0 ? 'dall-e' : 'gpt-4';
      expected.set(customer, expected.get(customer)! + cost[feature]);
      return { id: `k-${run}-${i}`, customer, feature, value: 1, timestamp: Date.now() };
    });
    for (let b = 0; b < 10; b++) {
      const chunk = events.slice(b * 300, (b + 1) * 300);
      const resend = b > 0 ? events.slice((b - 1) * 300, (b - 1) * 300 + 30) : [];
      const res = await api.post('/v1/track/batch', { events: [...chunk, ...resend] });
      expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
      expect(res.body.rejected).toBe(0);
      if (b === 2 || b === 5 || b === 8) {
        // the batch was just acknowledged by Kafka: kill while it is being consumed, debited and written
        await new Promise((r) => setTimeout(r, { 2: 40, 5: 100, 8: 200 }[b]));
        await workers.stop('SIGKILL');
        workers = await ownApp('workers', { ...env, PUBLIC_URL: apiApp.url });
      }
    }

    for (const c of customers) {
      await eventually(async () => (await usageTotals(tenantId, c)).events === 1000, 120_000, 500);
      const total = expected.get(c)!;
      const plan = Math.min(total, allowance);
      const purchased = Math.min(total - plan, 3000);
      const overage = total - plan - purchased;
      expect(await usageTotals(tenantId, c)).toEqual({ events: 1000, plan, purchased, overage });
      expect(await distinctEvents(tenantId, c)).toBe(1000);
      // the rollups count every inserted row: replays must not have inserted a second copy
      const day = 86_400_000;
      const from = new Date(Math.floor(Date.now() / day) * day - day).toISOString();
      const to = new Date(Math.floor(Date.now() / day) * day + day).toISOString();
      const usage = await api.get(`/v1/usage?customers=${c}&groupBy=customer&aggregations=sum_credits,count&window=day&from=${from}&to=${to}`);
      expect(usage.status, JSON.stringify(usage.body)).toBe(200);
      expect(usage.body.source).toBe('usage_per_day_v1');
      const rows = usage.body.data as { count: number; sumCredits: number }[];
      expect(rows.reduce((n, r) => n + r.count, 0)).toBe(1000);
      expect(rows.reduce((n, r) => n + r.sumCredits, 0)).toBe(total);
      await eventually(async () => (await checkBalance(api, c)).usage === plan, 30_000);
      expect(await checkBalance(api, c)).toMatchObject({ usage: plan, balance: allowance - plan + 3000 - purchased });
    }
  }, 300_000);
});

