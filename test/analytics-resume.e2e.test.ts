import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startApp, type AppProcess } from './support/processes.ts';
import { client, eventually } from './support/stack.ts';
import { analyticsTenant, DAY_MS, ndjson, todayStart, upload, waitFor } from './analytics-helpers.ts';

/**
 * Kill -9 the only import worker in the middle of an import, start another:
 * the import resumes from the last finished chunk and ends with exact counts
 * and exact analytics. This suite runs its own API and workers on a private
 * import queue, so no other workers process can take the chunks.
 */
describe('import resume after a crash', () => {
  const apps: AppProcess[] = [];
  afterAll(async () => {
    for (const app of apps.reverse()) await app.stop('SIGKILL');
  });

  it('finishes exactly after the import worker is killed mid-import', async () => {
    const env = { ...inject('stackEnv'), IMPORT_QUEUE: `import-resume-${randomUUID().slice(0, 8)}` };
    const api = await startApp('api', env);
    apps.push(api);
    const first = await startApp('workers', env);
    apps.push(first);

    const { secret } = await analyticsTenant();
    const http = client(secret, api.url);
    const T = todayStart() - 2 * DAY_MS;
    const N = 6000;
    const rows = Array.from({ length: N }, (_, i) => ({ id: `r-${i}`, customer: `c${(i % 2) + 1}`, feature: 'gpt4', value: 1, timestamp: new Date(T + i * 1000).toISOString() }));
    const created = await upload(secret, ndjson(rows), '?chunkLines=50');
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const id = created.body.id as string;
    expect(created.body.chunksTotal).toBe(N / 50);

    // Wait until some chunks are done, then kill the worker without any chance to clean up.
    const before = await eventually(async () => {
      const s = (await http.get(`/v1/imports/${id}`)).body;
      return s.chunksDone >= 3 ? s : undefined;
    }, 60_000, 20);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const atKill = (await http.get(`/v1/imports/${id}`)).body;
    expect(atKill.state, 'the import must still be unfinished when its worker dies').toBe('running');
    expect(atKill.chunksDone).toBeLessThan(N / 50);
    expect(atKill.chunksDone).toBeGreaterThanOrEqual(before.chunksDone);

    // A new worker picks the import up (a chunk held by the dead worker comes back when its lock expires).
    const second = await startApp('workers', env);
    apps.push(second);
    const done = await waitFor(http, id, ['completed'], 150_000);
    expect(done).toMatchObject({ rowsRead: N, accepted: N, duplicates: 0, rejected: 0, chunksDone: N / 50 });

    const usage = await http.get(`/v1/usage?from=${new Date(T).toISOString()}&to=${new Date(T + DAY_MS).toISOString()}&groupBy=customer&aggregations=count,sum_credits`);
    expect(usage.body.data).toEqual([
      { customer: 'c1', count: N / 2, sumCredits: (N / 2) * 20 },
      { customer: 'c2', count: N / 2, sumCredits: (N / 2) * 20 },
    ]);
    const raw = await http.get(`/v1/usage?from=${new Date(T).toISOString()}&to=${new Date(T + DAY_MS).toISOString()}&aggregations=count,distinct_customers`);
    expect(raw.body.data).toEqual([{ count: N, distinctCustomers: 2 }]);
  }, 240_000);
});
