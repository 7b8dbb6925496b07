import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tally } from '@tally/sdk';
import { createClickHouse, queryRows, sql } from '@tally/clickhouse';
import { client, config, eventually, type Answer } from './support/stack.ts';
import { privateStack, type PrivateStack } from './support/private-stack.ts';
import { meteringTenant } from './metering-helpers.ts';

/**
 * Per-tenant rate limits (docs/operations.md "Rate limits") across TWO API
 * processes sharing one (private) Redis: check 2/s, ingest 20 events/s, a
 * burst of 5 s (capacity 10 checks, 100 events). Expected counts are computed
 * here from those numbers and the time that actually passed.
 */
const ADMIN_TOKEN = `admin-${randomUUID()}`;
const CHECK_RATE = 2;
const INGEST_RATE = 20;
const BURST_SECONDS = 5;
const clickhouse = createClickHouse({ url: config.CLICKHOUSE_URL, database: config.CLICKHOUSE_DATABASE, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });

let stack: PrivateStack;
beforeAll(async () => {
  stack = await privateStack({
    apis: 2,
    workers: 1,
    env: {
      ADMIN_TOKEN,
      RATE_LIMIT_CHECK_PER_SECOND: String(CHECK_RATE),
      RATE_LIMIT_INGEST_EVENTS_PER_SECOND: String(INGEST_RATE),
      RATE_LIMIT_OTHER_PER_SECOND: '1000',
      RATE_LIMIT_BURST_SECONDS: String(BURST_SECONDS),
    },
  });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
  await clickhouse.close();
});

const admin = (base: string) => client(ADMIN_TOKEN, base);
const parsePolicy = (a: Answer) => a.headers.get('ratelimit-policy');
const remainingOf = (a: Answer) => Number(/;r=(\d+)/.exec(a.headers.get('ratelimit') ?? '')?.[1] ?? NaN);

async function storedEvents(tenantId: string): Promise<number> {
  const rows = await queryRows<{ n: string }>(clickhouse, sql`SELECT toString(count()) AS n FROM raw_usage_events_v1 FINAL WHERE tenant_id = ${tenantId}`.text);
  return Number(rows[0]?.n ?? 0);
}

describe('per-tenant rate limits', () => {
  it('tenant A over its check limit gets 429 with the headers on both API processes, tenant B keeps succeeding, an override lifts A at once', async () => {
    const [one, two] = [stack.apis[0]!.url, stack.apis[1]!.url];
    const a = await meteringTenant(1000, 'charge', one);
    const b = await meteringTenant(1000, 'charge', one);
    const apiA = [client(a.tenant.apiKey.secret, one), client(a.tenant.apiKey.secret, two)];
    const apiB = client(b.tenant.apiKey.secret, two);

    const started = Date.now();
    const answers: { via: number; answer: Answer }[] = [];
    const bAnswers: Answer[] = [];
    for (let i = 0; i < 30; i++) {
      const via = i % 2;
      answers.push({ via, answer: await apiA[via]!.post('/v1/check', { customer: 'cust-a', feature: 'gpt-4', value: 1 }) });
      // B on its own budget meanwhile: within its burst, every call passes
      if (i % 3 === 0) bAnswers.push(await apiB.post('/v1/check', { customer: 'cust-b', feature: 'gpt-4', value: 1 }));
    }
    const elapsedS = (Date.now() - started) / 1000;
    const ok = answers.filter((x) => x.answer.status === 200);
    const refused = answers.filter((x) => x.answer.status === 429);
    expect(ok.length + refused.length, JSON.stringify(answers.find((x) => ![200, 429].includes(x.answer.status))?.answer.body)).toBe(30);
    // GCRA: the burst capacity at once, then the rate; one extra for a refill landing between two calls
    expect(ok.length).toBeGreaterThanOrEqual(CHECK_RATE * BURST_SECONDS);
    expect(ok.length).toBeLessThanOrEqual(CHECK_RATE * BURST_SECONDS + Math.ceil(elapsedS * CHECK_RATE) + 1);
    // one budget across both processes: each saw refusals
    expect(new Set(refused.map((x) => x.via))).toEqual(new Set([0, 1]));
    const policy = `"check";q=${CHECK_RATE * BURST_SECONDS};w=${BURST_SECONDS}`;
    for (const { answer } of refused) {
      expect(answer.body.error.code).toBe('rate_limited');
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(parsePolicy(answer)).toBe(policy);
      expect(remainingOf(answer)).toBe(0);
    }
    // headers on successful answers too; the first one had spent 1 of the capacity
    expect(parsePolicy(ok[0]!.answer)).toBe(policy);
    expect(remainingOf(ok[0]!.answer)).toBe(CHECK_RATE * BURST_SECONDS - 1);

    expect(bAnswers.map((x) => x.status)).toEqual(bAnswers.map(() => 200));
    expect(bAnswers.length).toBe(CHECK_RATE * BURST_SECONDS);

    // admin override on one process, in force on the other without a restart
    const put = await admin(one).put(`/admin/tenants/${a.tenantId}/rate-limits`, { check: 1000 });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.effective).toEqual({ check: 1000, ingest: INGEST_RATE, other: 1000 });
    const lifted = await apiA[1]!.post('/v1/check', { customer: 'cust-a', feature: 'gpt-4', value: 1 });
    expect(lifted.status, JSON.stringify(lifted.body)).toBe(200);
    expect(parsePolicy(lifted)).toBe(`"check";q=${1000 * BURST_SECONDS};w=${BURST_SECONDS}`);
    // B still on the default
    expect(parsePolicy(await apiB.post('/v1/check', { customer: 'cust-b', feature: 'gpt-4', value: 1 }))).toBe(policy);

    // back to the default, again everywhere at once
    const del = await admin(two).del(`/admin/tenants/${a.tenantId}/rate-limits`);
    expect(del.body.overrides).toEqual({ check: null, ingest: null, other: null });
    expect(parsePolicy(await apiA[0]!.post('/v1/check', { customer: 'cust-a', feature: 'gpt-4', value: 1 }))).toBe(policy);

    // the admin routes want the token and a real tenant
    expect((await client('wrong-token-wrong-token', one).get(`/admin/tenants/${a.tenantId}/rate-limits`)).status).toBe(401);
    expect((await admin(one).get(`/admin/tenants/${randomUUID()}/rate-limits`)).body.error.code).toBe('tenant_not_found');
    expect((await admin(one).put(`/admin/tenants/${a.tenantId}/rate-limits`, { check: -1 })).body.error.code).toBe('validation_error');
  });

  it('a batch past the ingest limit is refused whole: nothing of it is stored', async () => {
    const [one, two] = [stack.apis[0]!.url, stack.apis[1]!.url];
    const a = await meteringTenant(1_000_000, 'charge', one);
    const api = [client(a.tenant.apiKey.secret, one), client(a.tenant.apiKey.secret, two)];
    const batch = (n: number, tag: string) => ({ events: Array.from({ length: n }, (_, i) => ({ id: `${tag}-${i}`, customer: 'cust-i', feature: 'gpt-4', value: 1 })) });
    const capacity = INGEST_RATE * BURST_SECONDS; // 100 events at once

    // larger than the capacity: can never pass, says so
    const huge = await api[0]!.post('/v1/track/batch', batch(capacity + 1, 'huge'));
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('batch_over_rate_limit');

    const first = await api[0]!.post('/v1/track/batch', batch(70, 'first'));
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.accepted).toBe(70);
    // 30 left (plus what refilled in the meantime, well under 70): the second batch of 70 is refused whole, on the other process
    const second = await api[1]!.post('/v1/track/batch', batch(70, 'second'));
    expect(second.status, JSON.stringify(second.body)).toBe(429);
    expect(second.body.error.code).toBe('rate_limited');
    expect(second.headers.get('ratelimit-policy')).toBe(`"ingest";q=${capacity};w=${BURST_SECONDS}`);

    // what was stored: the first batch only (the refused ones must never appear)
    await eventually(async () => (await storedEvents(a.tenantId)) >= 70, 60_000, 250);
    // the refused batch, sent again once allowed, is new to Tally: accepted whole
    const third = await eventually(async () => {
      const r = await api[1]!.post('/v1/track/batch', batch(70, 'second'));
      return r.status === 200 ? r : null;
    }, 30_000, 500);
    expect(third.body.accepted).toBe(70);
    await eventually(async () => (await storedEvents(a.tenantId)) >= 140, 60_000, 250);
    await new Promise((r) => setTimeout(r, 1000)); // a late extra row would show now
    expect(await storedEvents(a.tenantId)).toBe(140);
  });

  it('the SDK backs off on 429, honouring Retry-After, and then succeeds', async () => {
    const one = stack.apis[0]!.url;
    const a = await meteringTenant(1000, 'charge', one);
    const api = client(a.tenant.apiKey.secret, one);
    // spend the whole capacity
    for (let i = 0; i < CHECK_RATE * BURST_SECONDS; i++) await api.post('/v1/check', { customer: 'cust-s', feature: 'gpt-4', value: 1 });
    expect((await api.post('/v1/check', { customer: 'cust-s', feature: 'gpt-4', value: 1 })).status).toBe(429);

    const statuses: number[] = [];
    const counting: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      statuses.push(res.status);
      return res;
    };
    const sdk = new Tally({ apiKey: a.tenant.apiKey.secret, apiUrl: one, fetch: counting, backoffMs: 10 });
    const answer = await sdk.check({ customer: 'cust-s', feature: 'gpt-4', value: 1 });
    expect(typeof answer.allowed).toBe('boolean');
    expect(statuses[0]).toBe(429);
    expect(statuses.at(-1)).toBe(200);
  });
});
