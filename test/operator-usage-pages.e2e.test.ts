/**
 * Issue 15: `/v1/usage` beyond its largest page. 10,001 minutes of one customer's
 * usage (a report import, one event a minute, values from a known formula) asked
 * by the minute: the first page holds the 10,000 rows `limit` allows and says
 * `hasMore`, its cursor answers the one row left, and the walk matches a model
 * built from the imported lines. The default `limit` is 1,000 and 10,001 is refused.
 */
import { describe, expect, it } from 'vitest';
import { eventually } from './support/stack.ts';
import { analyticsTenant, ndjson, upload, waitFor } from './analytics-helpers.ts';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const N = 10_001;
const valueOf = (i: number) => (i % 7) + 1;

interface Row { bucket: string; count: number; sumValue: number }

describe('GET /v1/usage beyond 10,000 rows', () => {
  it('pages 10,001 minute buckets as 10,000 + 1 with hasMore and nextCursor, each bucket as imported', { timeout: 180_000 }, async () => {
    const { api, secret } = await analyticsTenant();
    const to = Math.floor(Date.now() / HOUR) * HOUR;
    const from = to - N * MINUTE;
    // the model: bucket start (ms) -> the value imported in that minute
    const model = new Map<number, number>();
    const lines = Array.from({ length: N }, (_, i) => {
      const at = from + i * MINUTE;
      model.set(at, valueOf(i));
      return { id: `page-${i}`, customer: 'c1', feature: 'gpt4', value: valueOf(i), timestamp: new Date(at + 1000).toISOString() };
    });
    const created = await upload(secret, ndjson(lines), '?mode=report');
    expect(created.status, JSON.stringify(created.body)).toBeLessThan(300);
    const done = await waitFor(api, created.body.id, ['completed'], 120_000);
    expect(done.accepted).toBe(N);

    const base = `/v1/usage?customers=c1&window=minute&aggregations=count,sum_value&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`;
    await eventually(async () => {
      const total = await api.get(`/v1/usage?customers=c1&aggregations=count&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`);
      return total.body.data?.[0]?.count === N;
    }, 60_000);

    const first = await api.get(`${base}&limit=10000`);
    expect(first.status, JSON.stringify(first.body).slice(0, 500)).toBe(200);
    expect(first.body.data).toHaveLength(10_000);
    expect(first.body.hasMore).toBe(true);
    expect(typeof first.body.nextCursor).toBe('string');

    const second = await api.get(`${base}&limit=10000&cursor=${first.body.nextCursor}`);
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(second.body.data).toHaveLength(1);
    expect(second.body).toMatchObject({ hasMore: false, nextCursor: null });

    const seen = new Map<number, number>();
    for (const row of [...first.body.data, ...second.body.data] as Row[]) {
      const at = Date.parse(row.bucket);
      expect(seen.has(at), `bucket ${row.bucket} answered twice`).toBe(false);
      expect(row.count).toBe(1);
      seen.set(at, row.sumValue);
    }
    expect(seen).toEqual(model);

    // Without limit: the default page of 1,000 rows, then more.
    const byDefault = await api.get(base);
    expect(byDefault.body.data).toHaveLength(1000);
    expect(byDefault.body.hasMore).toBe(true);
    // A page larger than 10,000 is refused, naming limit.
    const tooMany = await api.get(`${base}&limit=10001`);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.code).toBe('validation_error');
    expect(tooMany.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['limit']);
  });
});
