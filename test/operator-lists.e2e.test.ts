/**
 * Operator lists with cursor pages: GET /v1/purchases (filters customer and
 * status), GET /v1/imports and an endpoint's delivery log. Each is walked page
 * by page with a small limit and compared with the tenant's rows as Postgres
 * orders them (newest first, id breaking ties); bad cursors, limits and
 * filters are 400s naming the parameter; another tenant sees none of it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, eventually, newTenant } from './support/stack.ts';
import { billingTenant, buyNow, db, newCustomer, saveCard, webhookReceiver, type Api } from './billing.support.ts';
import { ndjson, upload } from './analytics-helpers.ts';

interface Item {
  createdAt: string;
  [field: string]: unknown;
}

/** Every page of `path` (which already has a `?`), checking each page's shape. */
async function walk(api: Api, path: string, limit: number) {
  const items: Item[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res = await api.get(`${path}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.success).toBe(true);
    expect(res.body.data.length).toBeLessThanOrEqual(limit);
    expect(res.body.hasMore).toBe(res.body.nextCursor !== null);
    if (res.body.hasMore) expect(res.body.data).toHaveLength(limit);
    items.push(...res.body.data);
    cursor = res.body.nextCursor;
    pages++;
  } while (cursor && pages < 50);
  return { items, pages };
}

const newestFirst = (items: Item[]) => items.every((it, i) => i === 0 || items[i - 1]!.createdAt >= it.createdAt);

/** The ids of rows as the test orders them itself, straight from Postgres. */
async function idsInPostgres(sql: string, args: unknown[]): Promise<string[]> {
  return (await db.query<{ id: string }>(sql, args)).rows.map((r) => r.id);
}

async function expectBadQuery(api: Api, url: string, name: string) {
  const res = await api.get(url);
  expect(res.status, url).toBe(400);
  expect(JSON.stringify(res.body.error), url).toContain(name);
  return res;
}

const cursorOf = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url');
/** Cursors no list here answered: not base64url, wrong key shapes, a customers-list key (its id is no uuid), dates that are no dates. */
const BAD_CURSORS = [
  'not-base64!',
  cursorOf({ x: 1 }),
  cursorOf(['yesterday', randomUUID()]),
  cursorOf(['2026-01-01T00:00:00.000000Z', 'cus-01']),
  cursorOf(['2026-13-45T99:99:99.000000Z', randomUUID()]),
  cursorOf(['2026-02-30T00:00:00.000000Z', randomUUID()]),
  cursorOf(['0000-01-01T00:00:00.000000Z', randomUUID()]),
];

afterAll(async () => {
  await db.end();
});

describe('GET /v1/purchases', () => {
  let api: Api;
  let tenantId: string;
  let buyer: string;
  let browser: string;
  /** The buyer's references in the order they were created (each request answered before the next). */
  const created: string[] = [];
  /** The browser's, created concurrently (rows may share a millisecond: only the microsecond keyset orders them). */
  let waiting: string[] = [];
  let refunded: string;
  let hooks: Awaited<ReturnType<typeof webhookReceiver>>;
  let endpointId: string;

  beforeAll(async () => {
    ({ api, tenantId } = await billingTenant());
    hooks = await webhookReceiver();
    const endpoint = await api.post('/v1/webhooks/endpoints', { url: hooks.url, events: ['purchase.completed', 'refund.completed'] });
    expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
    endpointId = endpoint.body.id;
    buyer = await newCustomer(api);
    browser = await newCustomer(api);
    await saveCard(api, buyer);
    // 7 completed with the card on file, 5 waiting at the checkout page (no card): 12 purchases.
    for (let i = 0; i < 7; i++) {
      const r = await buyNow(api, { customer: buyer, pack: '500-ai-credits' });
      expect(r.body.status, JSON.stringify(r.body)).toBe('completed');
      created.push(r.body.reference);
    }
    const started = await Promise.all(Array.from({ length: 5 }, () => api.post('/v1/addon', { customer: browser, pack: '500-ai-credits' })));
    for (const r of started) expect(r.body.status, JSON.stringify(r.body)).toBe('awaiting_payment');
    waiting = started.map((r) => r.body.reference);
    refunded = created[2]!;
    expect((await api.post(`/v1/purchases/${refunded}/refund`)).status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await hooks?.close();
  });

  it('walks every page once, newest first, each purchase with its view', async () => {
    const { items, pages } = await walk(api, '/v1/purchases?', 5);
    expect(pages).toBe(3); // 12 purchases, 5 a page
    const refs = items.map((p) => p.reference as string);
    expect(new Set(refs)).toEqual(new Set([...created, ...waiting]));
    expect(refs.filter((r) => created.includes(r))).toEqual([...created].reverse());
    expect(refs).toEqual(await idsInPostgres('SELECT id FROM purchases WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC', [tenantId]));
    expect(newestFirst(items)).toBe(true);
    // The same view as GET /v1/purchases/:reference, without `success`.
    const one = (await api.get(`/v1/purchases/${created[0]}`)).body;
    const { success: _, ...view } = one;
    expect(items.find((p) => p.reference === created[0])).toEqual(view);
    expect(items.find((p) => p.reference === refunded)).toMatchObject({ status: 'refunded', customer: buyer, refund: expect.objectContaining({ amount: expect.any(Number) }) });
    expect(items.find((p) => p.reference === waiting[0])).toMatchObject({ status: 'awaiting_payment', customer: browser, checkoutUrl: expect.any(String), refund: null });
  });

  it('default limit is 20; filters by customer and by status, paged', async () => {
    const all = await api.get('/v1/purchases');
    expect(all.body.data).toHaveLength(12);
    expect(all.body).toMatchObject({ hasMore: false, nextCursor: null });

    const mine = await walk(api, `/v1/purchases?customer=${buyer}`, 3);
    expect(mine.pages).toBe(3);
    expect(mine.items.map((p) => p.reference)).toEqual([...created].reverse());

    const awaiting = await walk(api, '/v1/purchases?status=awaiting_payment', 2);
    expect(awaiting.pages).toBe(3);
    expect(awaiting.items.map((p) => p.reference)).toEqual(
      await idsInPostgres(`SELECT id FROM purchases WHERE tenant_id = $1 AND status = 'awaiting_payment' ORDER BY created_at DESC, id DESC`, [tenantId]),
    );
    expect(new Set(awaiting.items.map((p) => p.reference))).toEqual(new Set(waiting));

    const completed = await walk(api, `/v1/purchases?customer=${buyer}&status=completed`, 2);
    expect(completed.items.map((p) => p.reference)).toEqual(created.filter((r) => r !== refunded).reverse());
    expect((await walk(api, `/v1/purchases?customer=${browser}&status=refunded`, 2)).items).toEqual([]);
    expect((await walk(api, '/v1/purchases?customer=nobody', 2)).items).toEqual([]);
  });

  it('bad cursors, limits and filters are 400s naming them', async () => {
    for (const cursor of BAD_CURSORS) {
      const res = await expectBadQuery(api, `/v1/purchases?cursor=${encodeURIComponent(cursor)}`, 'cursor');
      expect(res.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['cursor']);
    }
    for (const [q, name] of [['limit=0', 'limit'], ['limit=101', 'limit'], ['limit=two', 'limit'], ['status=lost', 'status'], ['customer=', 'customer'], ['custmer=x', 'custmer']] as const) {
      await expectBadQuery(api, `/v1/purchases?${q}`, name);
    }
  });

  it('the delivery log pages the same way; `deliveries` still repeats the rows', async () => {
    // 7 purchase.completed + 1 refund.completed.
    await eventually(async () => (await db.query('SELECT 1 FROM webhook_deliveries WHERE tenant_id = $1', [tenantId])).rowCount === 8, 30_000);
    const path = `/v1/webhooks/endpoints/${endpointId}/deliveries?`;
    const { items, pages } = await walk(api, path, 3);
    expect(pages).toBe(3);
    expect(items.map((d) => d.id)).toEqual(
      await idsInPostgres('SELECT id FROM webhook_deliveries WHERE tenant_id = $1 AND endpoint_id = $2 ORDER BY created_at DESC, id DESC', [tenantId, endpointId]),
    );
    expect(new Set(items.map((d) => d.id)).size).toBe(8);
    expect(newestFirst(items)).toBe(true);
    expect(items.map((d) => d.eventType).sort()).toEqual([...Array(7).fill('purchase.completed'), 'refund.completed']);

    const first = await api.get(`${path}limit=3`);
    expect(first.body.deliveries).toEqual(first.body.data);
    const whole = await api.get(path); // default limit 100: the whole log, as before pages
    expect(whole.body).toMatchObject({ hasMore: false, nextCursor: null });
    expect(whole.body.deliveries.map((d: Item) => d.id)).toEqual(items.map((d) => d.id));

    for (const cursor of BAD_CURSORS) await expectBadQuery(api, `${path}cursor=${encodeURIComponent(cursor)}`, 'cursor');
    for (const q of ['limit=0', 'limit=101']) await expectBadQuery(api, `${path}${q}`, 'limit');
  });

  it('another tenant sees none of these purchases or deliveries, with or without this tenant’s cursor', async () => {
    const other = client((await newTenant('op-lists-other')).apiKey.secret);
    const first = await api.get('/v1/purchases?limit=2');
    expect((await other.get('/v1/purchases')).body).toEqual({ success: true, data: [], hasMore: false, nextCursor: null });
    expect((await other.get(`/v1/purchases?cursor=${first.body.nextCursor}`)).body.data).toEqual([]);
    expect((await other.get(`/v1/purchases?customer=${buyer}`)).body.data).toEqual([]);
    const deliveries = await other.get(`/v1/webhooks/endpoints/${endpointId}/deliveries`);
    expect(deliveries.status).toBe(404);
    expect(deliveries.body.error.code).toBe('endpoint_not_found');
    expect(JSON.stringify(deliveries.body)).not.toContain('purchase.completed');
    const page = await api.get(`/v1/webhooks/endpoints/${endpointId}/deliveries?limit=2`);
    expect((await other.get(`/v1/webhooks/endpoints/${endpointId}/deliveries?cursor=${page.body.nextCursor}`)).status).toBe(404);
  });
});

describe('GET /v1/imports', () => {
  let api: Api;
  let secret: string;
  let tenantId: string;
  const created: string[] = [];

  beforeAll(async () => {
    const tenant = await newTenant('op-imports');
    ({ tenantId } = tenant);
    secret = tenant.apiKey.secret;
    api = client(secret);
    // 7 report-mode imports of a few lines each (lines name no catalog: they are rejected, which is fine here).
    for (let i = 0; i < 7; i++) {
      const r = await upload(secret, ndjson([{ customer: `c${i}`, feature: 'f', value: 1, timestamp: new Date().toISOString(), id: `e-${i}` }]));
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      created.push(r.body.id);
    }
  }, 60_000);

  it('walks every page once, newest first, each import with its progress', async () => {
    const { items, pages } = await walk(api, '/v1/imports?', 3);
    expect(pages).toBe(3); // 7 imports, 3 a page
    expect(items.map((i) => i.id)).toEqual([...created].reverse());
    expect(items.map((i) => i.id)).toEqual(await idsInPostgres('SELECT id FROM imports WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC', [tenantId]));
    expect(newestFirst(items)).toBe(true);
    // Once the first is done, its entry carries the same counts as GET /v1/imports/:id.
    const done = await eventually(async () => {
      const s = (await api.get(`/v1/imports/${created[0]}`)).body;
      return ['completed', 'failed'].includes(s.state) ? s : null;
    }, 60_000);
    const listed = (await api.get('/v1/imports?limit=100')).body.data.find((i: Item) => i.id === created[0]);
    const { success: _, rate: __, ...status } = done;
    expect(listed).toMatchObject({ ...status, rowsRead: 1 });
  });

  it('bad cursors and limits are 400s naming them; unknown parameters too', async () => {
    for (const cursor of BAD_CURSORS) {
      const res = await expectBadQuery(api, `/v1/imports?cursor=${encodeURIComponent(cursor)}`, 'cursor');
      expect(res.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['cursor']);
    }
    for (const [q, name] of [['limit=0', 'limit'], ['limit=101', 'limit'], ['state=running', 'state']] as const) await expectBadQuery(api, `/v1/imports?${q}`, name);
  });

  it('another tenant sees none of these imports, with or without this tenant’s cursor', async () => {
    const other = client((await newTenant('op-imports-other')).apiKey.secret);
    const first = await api.get('/v1/imports?limit=2');
    expect((await other.get('/v1/imports')).body).toEqual({ success: true, data: [], hasMore: false, nextCursor: null });
    expect((await other.get(`/v1/imports?cursor=${first.body.nextCursor}`)).body.data).toEqual([]);
    expect((await other.get(`/v1/imports/${created[0]}`)).status).toBe(404);
  });
});
