import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { eventually } from './support/stack.ts';
import { analyticsTenant, DAY_MS, ndjson, todayStart, upload, waitFor } from './analytics-helpers.ts';

const iso = (ms: number) => new Date(ms).toISOString();

describe('backfill imports → /v1/usage', () => {
  it('imports, rejects and flags line by line, dedups a re-import, and reverts exactly', async () => {
    const { api, secret } = await analyticsTenant();
    const T = todayStart() - DAY_MS; // yesterday 00:00 UTC
    const file = ndjson([
      { id: 'e1', customer: 'c1', feature: 'gpt4', value: 1, timestamp: iso(T + 10_000) },
      { id: 'e2', customer: 'c1', feature: 'gpt4', value: 2.5, timestamp: iso(T + 3_700_000), properties: { region: 'eu', note: 'tab\there\nnew \\ "q"' }, entity: 'e\tx' },
      '{"customer":',
      { id: 'e3', customer: 'c2', feature: 'dalle', value: 1, timestamp: T + 20_000 },
      { id: 'e4', customer: 'ghost', feature: 'gpt4', value: 1, timestamp: iso(T + 30_000) },
      { id: 'e1', customer: 'c1', feature: 'gpt4', value: 1, timestamp: iso(T + 10_000) },
      '',
      { id: 'e5', customer: 'c1', feature: 'mystery', value: 3, timestamp: iso(T + 40_000) },
    ]);

    const created = await upload(secret, file);
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    expect(created.body).toMatchObject({ mode: 'report', format: 'ndjson' });
    const done = await waitFor(api, created.body.id, ['completed']);
    expect(done).toMatchObject({ rowsRead: 7, accepted: 5, duplicates: 1, rejected: 1, flagged: 2, chunksTotal: 1, chunksDone: 1 });
    expect(done.bytes).toBe(Buffer.byteLength(file));

    const range = `from=${iso(T)}&to=${iso(T + 2 * DAY_MS)}`;
    const expected = [
      { customer: 'c1', sumCredits: 70, count: 3, sumValue: 6.5 },
      { customer: 'c2', sumCredits: 50, count: 1, sumValue: 1 },
      { customer: 'ghost', sumCredits: 20, count: 1, sumValue: 1 },
    ];
    const byCustomer = async (extra = '') => {
      const res = await api.get(`/v1/usage?${range}&groupBy=customer${extra}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body;
    };
    const fromRollup = await byCustomer();
    expect(fromRollup.source).toBe('usage_per_day_v1');
    expect(fromRollup.data).toEqual(expected);
    const fromRaw = await byCustomer('&window=minute&aggregations=sum_credits,count,sum_value');
    expect(fromRaw.source).toBe('raw_usage_events_v1');
    const summed = new Map<string, { sumCredits: number; count: number }>();
    for (const r of fromRaw.data) {
      const s = summed.get(r.customer) ?? { sumCredits: 0, count: 0 };
      summed.set(r.customer, { sumCredits: s.sumCredits + r.sumCredits, count: s.count + r.count });
    }
    expect(Object.fromEntries(summed)).toEqual({ c1: { sumCredits: 70, count: 3 }, c2: { sumCredits: 50, count: 1 }, ghost: { sumCredits: 20, count: 1 } });

    const hourly = await api.get(`/v1/usage?${range}&window=hour&features=gpt4&customers=c1&aggregations=sum_value,max_value`);
    expect(hourly.body.data).toEqual([
      { bucket: iso(T), sumValue: 1, maxValue: 1 },
      { bucket: iso(T + 3_600_000), sumValue: 2.5, maxValue: 2.5 },
    ]);
    const byRegion = await api.get(`/v1/usage?${range}&groupBy=property:region&property.region=eu&aggregations=count`);
    expect(byRegion.body.data).toEqual([{ properties: { region: 'eu' }, count: 1 }]);
    // Tabs, newlines, backslashes and quotes survive the TabSeparated insert.
    const byNote = await api.get(`/v1/usage?${range}&groupBy=property:note&property.region=eu&aggregations=count`);
    expect(byNote.body.data).toEqual([{ properties: { note: 'tab\there\nnew \\ "q"' }, count: 1 }]);

    const lines = await api.get(`/v1/imports/${created.body.id}/rejected`);
    expect(lines.status).toBe(200);
    expect(lines.body).toEqual({ line: 3, reason: 'malformed JSON', content: '{"customer":' });
    const flagged = await api.get(`/v1/imports/${created.body.id}/rejected?kind=flagged&format=csv`);
    expect(String(flagged.body).trim().split('\n')).toEqual([
      'line,reason,content',
      expect.stringMatching(/^5,"unknown customer ""ghost""",/),
      expect.stringMatching(/^8,"unknown feature ""mystery""",/),
    ]);

    // The same file again adds nothing.
    const again = await upload(secret, file);
    const second = await waitFor(api, again.body.id, ['completed']);
    expect(second).toMatchObject({ rowsRead: 7, accepted: 0, duplicates: 6, rejected: 1 });
    expect((await byCustomer()).data).toEqual(expected);

    // Revert: analytics back to exactly nothing, on rollups and raw events.
    const revert = await api.post(`/v1/imports/${created.body.id}/revert`);
    expect(revert.status).toBe(202);
    await waitFor(api, created.body.id, ['reverted']);
    expect((await byCustomer()).data).toEqual([]);
    expect((await byCustomer('&window=hour')).data).toEqual([]);
    expect((await byCustomer('&aggregations=max_value,distinct_customers')).data).toEqual([]);
    expect((await api.post(`/v1/imports/${created.body.id}/revert`)).body.state).toBe('reverted');
  });

  it('streams gzip CSV in several chunks and answers in a time zone', async () => {
    const { api, secret } = await analyticsTenant();
    const T = todayStart() - 3 * DAY_MS;
    const rows = ['id,customer,feature,value,timestamp,property.model'];
    for (let i = 0; i < 250; i++) rows.push(`csv-${i},c${(i % 2) + 1},gpt4,0.5,${iso(T + i * 600_000)},m${i % 3}`);
    const body = gzipSync(rows.join('\r\n'));
    const created = await upload(secret, body, '?chunkLines=100', { 'Content-Type': 'text/csv', 'Content-Encoding': 'gzip' });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const done = await waitFor(api, created.body.id, ['completed']);
    expect(done).toMatchObject({ format: 'csv', rowsRead: 250, accepted: 250, rejected: 0, chunksTotal: 3, chunksDone: 3, bytes: body.length });

    const range = `from=${iso(T - DAY_MS)}&to=${iso(T + 3 * DAY_MS)}`;
    const paris = await api.get(`/v1/usage?${range}&window=day&timezone=Europe/Paris&aggregations=count,sum_credits`);
    expect(paris.body.source).toBe('usage_per_hour_v1');
    expect(paris.body.data.reduce((n: number, r: { count: number }) => n + r.count, 0)).toBe(250);
    expect(paris.body.data.reduce((n: number, r: { sumCredits: number }) => n + r.sumCredits, 0)).toBe(2500);
    // 250 events every 10 min from UTC midnight: 144 on the first UTC day; Paris days start 1-2 h earlier.
    expect(paris.body.data[0].bucket).toBe(iso(T - (paris.body.data[0].bucket === iso(T - 3_600_000) ? 3_600_000 : 7_200_000)));
    const byModel = await api.get(`/v1/usage?${range}&groupBy=property:model&aggregations=count`);
    expect(byModel.body.data).toEqual([
      { properties: { model: 'm0' }, count: 84 },
      { properties: { model: 'm1' }, count: 83 },
      { properties: { model: 'm2' }, count: 83 },
    ]);
  });

  it('refuses a file that is neither NDJSON nor CSV at once, and bad parameters', async () => {
    const { api, secret } = await analyticsTenant();
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
    const res = await upload(secret, png, '', { 'Content-Type': 'application/octet-stream' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('unsupported_format');
    const notGzip = await upload(secret, 'plain', '?compression=gzip');
    expect(notGzip.status).toBe(400);
    expect((await api.get('/v1/usage?window=week')).status).toBe(400);
    expect((await api.get('/v1/usage?timezone=Mars/Olympus')).status).toBe(400);
    expect((await api.get('/v1/imports/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('cancels between chunks, keeps finished chunks until a revert removes them', async () => {
    const { api, secret } = await analyticsTenant();
    const T = todayStart() - 2 * DAY_MS;
    const rows = Array.from({ length: 5000 }, (_, i) => ({ id: `x-${i}`, customer: 'c1', feature: 'gpt4', value: 1, timestamp: iso(T + i * 1000) }));
    const created = await upload(secret, ndjson(rows), '?chunkLines=10');
    expect(created.body.chunksTotal).toBe(500);
    const cancelled = await api.post(`/v1/imports/${created.body.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('cancelled');
    // Whatever chunk was running finishes; nothing after it starts.
    const settled = await eventually(async () => {
      const a = (await api.get(`/v1/imports/${created.body.id}`)).body;
      await new Promise((r) => setTimeout(r, 1500));
      const b = (await api.get(`/v1/imports/${created.body.id}`)).body;
      return a.chunksDone === b.chunksDone ? b : undefined;
    });
    expect(settled.state).toBe('cancelled');
    expect(settled.chunksDone).toBeLessThan(500);
    expect(settled.accepted).toBe(settled.chunksDone * 10);
    const range = `from=${iso(T)}&to=${iso(T + DAY_MS)}`;
    const count = async () => (await api.get(`/v1/usage?${range}&aggregations=count`)).body.data[0]?.count ?? 0;
    expect(await count()).toBe(settled.accepted);
    expect((await api.post(`/v1/imports/${created.body.id}/cancel`)).status).toBe(409);
    expect((await api.post(`/v1/imports/${created.body.id}/revert`)).status).toBe(202);
    await waitFor(api, created.body.id, ['reverted']);
    expect(await count()).toBe(0);
  });

  it('keeps tenants apart', async () => {
    const a = await analyticsTenant();
    const b = await analyticsTenant();
    const T = todayStart() - DAY_MS;
    const created = await upload(a.secret, ndjson([{ id: 'shared-id', customer: 'c1', feature: 'gpt4', value: 1, timestamp: iso(T) }]));
    await waitFor(a.api, created.body.id, ['completed']);
    expect((await b.api.get(`/v1/imports/${created.body.id}`)).status).toBe(404);
    const range = `from=${iso(T)}&to=${iso(T + DAY_MS)}`;
    expect((await b.api.get(`/v1/usage?${range}`)).body.data).toEqual([]);
    // The same event id in another tenant is a different event.
    const other = await upload(b.secret, ndjson([{ id: 'shared-id', customer: 'c1', feature: 'gpt4', value: 1, timestamp: iso(T) }]));
    expect(await waitFor(b.api, other.body.id, ['completed'])).toMatchObject({ accepted: 1, duplicates: 0 });
  });
});
