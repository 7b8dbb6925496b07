import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, eventually, type Answer } from './support/stack.ts';
import { clickhouseProxy } from './support/clickhouse-proxy.ts';
import { freePort } from './support/processes.ts';
import { privateKafka, type PrivateKafka } from './support/private-kafka.ts';
import { privateStack, type PrivateStack } from './support/private-stack.ts';
import { checkBalance, distinctEvents, meteringTenant, subscribedCustomer, usageTotals } from './metering-helpers.ts';

/**
 * Every wait is bounded (docs/operations.md "Budgets"). A hung dependency —
 * SIGSTOP of a PRIVATE Kafka broker, SIGSTOP of the private stack's own
 * redis-server, a ClickHouse proxy and a Postgres proxy that accept and
 * forward nothing (the shared postgres is not this test's to SIGSTOP) — gets
 * the routes that need it ANSWERED, with 503 and Retry-After (never a hang;
 * the test asserts the answer, not its timing). After resume every event sent
 * again with its id is stored exactly once. Nothing here touches the shared
 * broker, Redis, ClickHouse or Postgres server other suites use.
 */
let kafka: PrivateKafka;
let stack: PrivateStack;
let proxy: Awaited<ReturnType<typeof clickhouseProxy>>;
let pgProxy: Awaited<ReturnType<typeof clickhouseProxy>>;
const COST = 20; // credits per gpt-4 unit (meteringTenant's catalog)

beforeAll(async () => {
  kafka = await privateKafka(240_000); // a loaded machine starts a KRaft broker slowly
  const chPort = await freePort();
  proxy = await clickhouseProxy(chPort);
  const pgPort = await freePort();
  pgProxy = await clickhouseProxy(pgPort, config.DATABASE_URL);
  stack = await privateStack({
    apis: 1,
    workers: 1,
    env: {
      KAFKA_BROKERS: kafka.brokers,
      REQUEST_BUDGET_INGEST_MS: '1500',
      REQUEST_BUDGET_CHECK_MS: '1500',
      REQUEST_BUDGET_OTHER_MS: '2500',
    },
  });
  // only the API reads ClickHouse and Postgres through the proxies (the migrations ran in this process, whose event loop the proxies need)
  stack.env.CLICKHOUSE_URL = `http://127.0.0.1:${chPort}`;
  const pgUrl = new URL(config.DATABASE_URL);
  pgUrl.hostname = '127.0.0.1';
  pgUrl.port = String(pgPort);
  stack.env.DATABASE_URL = pgUrl.toString();
  await stack.restart('api', 0);
}, 480_000);
afterAll(async () => {
  kafka?.resume();
  proxy?.resume();
  pgProxy?.resume();
  await stack?.stop();
  await proxy?.down().catch(() => {});
  await pgProxy?.down().catch(() => {});
  await kafka?.stop();
});

/**
 * The API's answer to a call made while a dependency hangs, or a failure when there is none after
 * 20 s — ten times the budgets set here, so only "no answer" fails, never a slow machine. Before
 * budgets, a paused broker held track for 40 s and more.
 */
async function answered(call: Promise<Answer>): Promise<Answer> {
  let timer: NodeJS.Timeout | undefined;
  const none = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no answer within 20 s')), 20_000);
  });
  return Promise.race([call, none]).finally(() => clearTimeout(timer));
}
const unavailable = (a: Answer) => {
  expect(a.status, JSON.stringify(a.body)).toBe(503);
  expect(['deadline_exceeded', 'service_unavailable']).toContain(a.body.error.code);
  expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
};
const event = (id: string, customer: string) => ({ id, customer, feature: 'gpt-4', value: 1 });

describe('bounded waits', () => {
  it('paused Kafka, Redis and ClickHouse: answered with 503, then everything succeeds, nothing lost or doubled', async () => {
    const { api, tenantId } = await meteringTenant(1_000_000, 'charge', stack.apis[0]!.url);
    const customer = await subscribedCustomer(api);
    const stored = new Set<string>(); // every id Tally answered 200 for, the expectation below
    const track = async (ids: string[]) => {
      const r = await api.post('/v1/track/batch', { events: ids.map((id) => event(id, customer)) });
      if (r.status === 200) for (const id of ids) stored.add(id);
      return r;
    };
    // a strict check answered 503 is retried with its id until it answers 200: applied once either way
    const retried = async (body: Record<string, unknown>) => {
      await eventually(async () => (await api.post('/v1/check', body)).status === 200, 30_000, 500);
      stored.add(body.id as string);
    };
    expect((await track(['k-0', 'k-1', 'k-2'])).status).toBe(200);

    // --- Kafka hung: track answers 503, check without an event does not need it
    kafka.pause();
    const single = await answered(api.post('/v1/track', event('k-p-0', customer)));
    unavailable(single);
    const batch = await answered(track(['k-p-1', 'k-p-2', 'k-p-3', 'k-p-4']));
    unavailable(batch);
    expect(batch.body.results).toBeUndefined(); // nothing reported accepted
    // readiness has it down now: answered without waiting on it (service_unavailable, kafka)
    const fast = await eventually(async () => {
      const r = await api.post('/v1/track', event('k-p-0', customer));
      return r.status === 503 && r.body.error.code === 'service_unavailable' ? r : null;
    }, 20_000, 200);
    expect(fast.body.error.dependency).toBe('kafka');
    const plainCheck = await api.post('/v1/check', { customer, feature: 'gpt-4', value: 1 });
    expect(plainCheck.status, JSON.stringify(plainCheck.body)).toBe(200);
    const strictK = { customer, feature: 'gpt-4', value: 1, sendEvent: true, id: 's-k' };
    unavailable(await answered(api.post('/v1/check', strictK)));
    kafka.resume();
    // the client's retries with the same ids: accepted now (or duplicates of a late ack), applied once either way
    const single2 = await eventually(async () => {
      const r = await api.post('/v1/track', event('k-p-0', customer));
      return r.status === 200 ? r : null;
    }, 60_000, 500);
    expect(single2.body.success).toBe(true);
    stored.add('k-p-0');
    const again = await eventually(async () => {
      const r = await track(['k-p-1', 'k-p-2', 'k-p-3', 'k-p-4']);
      return r.status === 200 ? r : null;
    }, 30_000, 500);
    expect(again.body.accepted + again.body.duplicates).toBe(4);
    await retried(strictK);

    // --- Redis hung (the private stack's own redis-server): check needs it
    const info = await stack.redis.info('server');
    const redisPid = Number(/process_id:(\d+)/.exec(info)![1]);
    const strictR = { customer, feature: 'gpt-4', value: 1, sendEvent: true, id: 's-r' };
    process.kill(redisPid, 'SIGSTOP');
    try {
      unavailable(await answered(api.post('/v1/check', { customer, feature: 'gpt-4', value: 1 })));
      unavailable(await answered(api.post('/v1/check', strictR)));
    } finally {
      process.kill(redisPid, 'SIGCONT');
    }
    await eventually(async () => (await api.post('/v1/check', { customer, feature: 'gpt-4', value: 1 })).status === 200, 30_000, 250);
    await retried(strictR);

    // --- ClickHouse hung: /v1/usage needs it
    expect((await api.get('/v1/usage')).status).toBe(200);
    proxy.pause();
    try {
      unavailable(await answered(api.get('/v1/usage')));
    } finally {
      proxy.resume();
    }
    await eventually(async () => (await api.get('/v1/usage')).status === 200, 30_000, 250);
    expect((await track(['k-3', 'k-4'])).status).toBe(200);

    // --- Postgres hung (a proxy in front of it, for the API only): the routes that need it answer 503
    // naming postgres — each query waited at most the budget, not only the answer
    const pgCustomer = `pg_${customer}`;
    pgProxy.pause();
    try {
      for (const call of [
        api.post('/v1/customers', { id: pgCustomer, email: `${pgCustomer}@example.com` }),
        api.get(`/v1/customers/${pgCustomer}`),
        api.get('/v1/customers'),
      ]) {
        const r = await answered(call);
        unavailable(r);
        expect(r.body.error.dependency, JSON.stringify(r.body)).toBe('postgres');
      }
    } finally {
      pgProxy.resume();
    }
    // the client's retry of the same upsert succeeds (the paused one may have landed too: the same customer, once)
    await eventually(async () => (await api.post('/v1/customers', { id: pgCustomer, email: `${pgCustomer}@example.com` })).status === 200, 30_000, 250);
    const listed = await api.get(`/v1/customers?search=${pgCustomer}`);
    expect(listed.status, JSON.stringify(listed.body)).toBe(200);
    expect(listed.body.data.map((c: { id: string }) => c.id)).toEqual([pgCustomer]);
    expect((await track(['k-5'])).status).toBe(200);

    // --- nothing lost, nothing doubled: ClickHouse and the ledger agree with what was answered 200
    const n = stored.size;
    expect(n).toBe(3 + 1 + 4 + 2 + 2 + 1);
    await eventually(async () => (await usageTotals(tenantId, customer)).events === n, 60_000, 250);
    await new Promise((r) => setTimeout(r, 1000)); // a late extra row would show now
    expect(await usageTotals(tenantId, customer)).toMatchObject({ events: n, plan: n * COST });
    expect(await distinctEvents(tenantId, customer)).toBe(n);
    expect((await checkBalance(api, customer)).usage).toBe(n * COST);
  }, 240_000);
});
