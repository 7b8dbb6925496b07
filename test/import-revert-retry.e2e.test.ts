import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from '@tally/postgres';
import { config } from './support/stack.ts';
import { analyticsTenant, DAY_MS, ndjson, todayStart, upload, waitFor } from './analytics-helpers.ts';

const pool = createPool(config.DATABASE_URL, 1);
afterAll(() => pool.end());
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A revert whose job was lost: the API answered (or died) after moving the import to `reverting` but before its
 * job reached Redis, or a Redis flush took the job. The simulator found such an import stuck in `reverting` for
 * good (seed 5, 2,000 ops: kill -9 of an API and a FLUSHDB within 200 ms of the revert). Asking again must finish it.
 */
describe('a revert asked again after its job was lost', () => {
  it('is enqueued again and completes: the events leave /v1/usage', async () => {
    const { api, secret } = await analyticsTenant();
    const T = todayStart() - DAY_MS;
    const created = await upload(secret, ndjson([
      { id: 'r1', customer: 'c1', feature: 'gpt4', value: 2, timestamp: iso(T + 10_000) },
      { id: 'r2', customer: 'c2', feature: 'gpt4', value: 3, timestamp: iso(T + 20_000) },
    ]));
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    await waitFor(api, created.body.id, ['completed']);
    const usage = async () =>
      (await api.get(`/v1/usage?from=${iso(T)}&to=${iso(T + 2 * DAY_MS)}&groupBy=customer&aggregations=sum_value`)).body.data;
    expect(await usage()).toHaveLength(2);

    // the state a revert leaves when its job never reached Redis
    const moved = await pool.query(`UPDATE imports SET state = 'reverting' WHERE id = $1 AND state = 'completed'`, [created.body.id]);
    expect(moved.rowCount).toBe(1);

    const again = await api.post(`/v1/imports/${created.body.id}/revert`);
    expect(again.status, JSON.stringify(again.body)).toBeLessThan(300);
    await waitFor(api, created.body.id, ['reverted'], 30_000);
    expect(await usage()).toEqual([]);
  });
});
