import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { upload, waitFor } from './analytics-helpers.ts';
import { apiUrl, client, eventually, newTenant } from './support/stack.ts';

/**
 * Input that cannot be stored (NUL bytes, lone UTF-16 surrogates), broken
 * paths and queries, reused idempotency keys and amounts the ledger cannot
 * hold exactly: each is a 4xx naming the problem, and nothing is changed.
 * One tenant for the whole file; every test uses its own customers and ids.
 */
const LONE = 'sur\ud800x';
const NUL = 'a\u0000b';

let api: ReturnType<typeof client>;
let secret: string;
const uid = () => randomUUID().slice(0, 8);

const catalog = {
  defaultProvider: 'sandbox',
  features: [
    { slug: 'gpt-4', type: 'metered', name: 'GPT-4' },
    { slug: 'huge', type: 'metered', name: 'Huge' },
    { slug: 'units', type: 'metered', name: 'Units' },
  ],
  creditSystems: [
    { slug: 'ai-credits', name: 'AI Credits', features: [{ feature: 'gpt-4', creditCost: 20 }, { feature: 'huge', creditCost: 5_000_000 }] },
  ],
  creditPacks: [{ slug: 'pack-10', name: '10 credits', credits: 10, price: 100, currency: 'USD', creditSystem: 'ai-credits' }],
  plans: [{ slug: 'free', name: 'Free', price: 0, currency: 'USD', interval: 'monthly', features: [{ slug: 'ai-credits', limit: 1000 }] }],
};

async function newCustomer(): Promise<string> {
  const id = `cus_${uid()}`;
  const res = await api.post('/v1/customers', { id, email: `${id}@example.com` });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return id;
}

/** The 400 answer names `path` among its issues (or in its message). */
function expectNamed(res: { status: number; body: any }, path: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.body.success).toBe(false);
  const paths: string[] = (res.body.error.issues ?? []).map((i: { path: string }) => i.path);
  expect([...paths, res.body.error.message].some((p) => p === path || p.startsWith(`${path}:`)), JSON.stringify(res.body)).toBe(true);
}

beforeAll(async () => {
  const tenant = await newTenant('hygiene');
  secret = tenant.apiKey.secret;
  api = client(secret);
  const sync = await api.post('/v1/sync', catalog);
  expect(sync.status, JSON.stringify(sync.body)).toBe(200);
});

describe('text that cannot be stored is refused at the door', () => {
  it('track: a lone surrogate or NUL anywhere is a 400 naming the field, and nothing is recorded', async () => {
    const customer = await newCustomer();
    expectNamed(await api.post('/v1/track', { customer: LONE, feature: 'gpt-4' }), 'customer');
    expectNamed(await api.post('/v1/track', { customer, feature: 'gpt-4', entity: NUL }), 'entity');
    expectNamed(await api.post('/v1/track', { customer, feature: 'gpt-4', properties: { model: NUL } }), 'properties.model');
    expectNamed(await api.post('/v1/track', { customer, feature: 'gpt-4', properties: { nested: { deep: ['ok', '\udc00'] } } }), 'properties.nested.deep.1');
    const key = await api.post('/v1/track', { customer, feature: 'gpt-4', properties: { [`k${NUL}`]: 1 } });
    expect(key.status, JSON.stringify(key.body)).toBe(400);
    expect(key.body.error.message).toMatch(/^properties\..*NUL/);
    const id = `evt_${uid()}`;
    expectNamed(await api.post('/v1/track', { id, customer, feature: 'gpt-4', metadata: { note: LONE } }), 'metadata.note');
    // the same id, clean, is accepted as new: the refused one left no trace
    const clean = await api.post('/v1/track', { id, customer, feature: 'gpt-4' });
    expect(clean.status, JSON.stringify(clean.body)).toBe(200);
    expect(clean.body.details.duplicate).toBe(false);
  });

  it('track/batch: each bad event is rejected on its own with the field named; the good ones are accepted', async () => {
    const customer = await newCustomer();
    const events = [
      { id: `evt_${uid()}`, customer, feature: 'gpt-4' },
      { id: `evt_${uid()}`, customer: `x${NUL}`, feature: 'gpt-4' },
      { id: `evt_${uid()}`, customer, feature: 'gpt-4', properties: { list: [{ v: LONE }] } },
      { id: `evt_${uid()}`, customer, feature: 'gpt-4', properties: { [LONE]: 'key' } },
      { id: `bad${NUL}`, customer, feature: 'gpt-4' },
    ];
    const res = await api.post('/v1/track/batch', { events });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ accepted: 1, rejected: 4 });
    const results = res.body.results as { status: string; error?: { code: string; message: string } }[];
    expect(results.map((r) => r.status)).toEqual(['accepted', 'rejected', 'rejected', 'rejected', 'rejected']);
    expect(results[1]!.error!.message).toMatch(/^customer: .*NUL/);
    expect(results[2]!.error!.message).toMatch(/^properties\.list\.0\.v: .*surrogate/);
    expect(results[3]!.error!.message).toMatch(/^properties\..*surrogate/);
    expect(results[4]!.error!.message).toMatch(/^id: .*NUL/);
    for (const r of results.slice(1)) expect(r.error!.code).toBe('invalid_event');

    // NDJSON bodies go through the same check (JSON escapes decode to the bad text)
    const ndjson = [`{"customer":"${customer}","feature":"gpt-4","properties":{"p":"\\u0000"}}`, `{"customer":"c\\udfff","feature":"gpt-4"}`].join('\n');
    const lines = await api.post('/v1/track/batch', ndjson, { 'Content-Type': 'application/x-ndjson' });
    expect(lines.status, JSON.stringify(lines.body)).toBe(200);
    expect(lines.body.results.map((r: { error?: { message: string } }) => r.error?.message.split(':')[0])).toEqual(['properties.p', 'customer']);
  });

  it('check: the same rule for its event fields', async () => {
    const customer = await newCustomer();
    expectNamed(await api.post('/v1/check', { customer, feature: 'gpt-4', sendEvent: true, properties: { a: NUL } }), 'properties.a');
  });

  it('customers: id, name, metadata keys and values are checked, and nothing is written', async () => {
    const id = `cus_${uid()}`;
    expectNamed(await api.post('/v1/customers', { id: `${id}${NUL}`, email: `${id}@example.com` }), 'id');
    expectNamed(await api.post('/v1/customers', { id, email: `${id}@example.com`, name: LONE }), 'name');
    expectNamed(await api.post('/v1/customers', { id, email: `${id}@example.com`, metadata: { tags: ['ok', NUL] } }), 'metadata.tags.1');
    const key = await api.post('/v1/customers', { id, email: `${id}@example.com`, metadata: { [NUL]: 1 } });
    expect(key.status, JSON.stringify(key.body)).toBe(400);
    expect((await api.get(`/v1/customers/${id}`)).status).toBe(404);
  });

  it('sync: names, descriptions and metadata are checked before anything is written', async () => {
    const bad = structuredClone(catalog) as typeof catalog & { creditPacks: { metadata?: unknown }[] };
    bad.features.push({ slug: `f-${uid()}`, type: 'metered', name: `GPT${NUL}` });
    expectNamed(await api.post('/v1/sync', bad), 'features.3.name');
    const meta = structuredClone(catalog) as typeof catalog & { creditPacks: { metadata?: unknown }[] };
    meta.creditPacks[0]!.metadata = { note: LONE };
    expectNamed(await api.post('/v1/sync', meta), 'creditPacks.0.metadata.note');
    const plans = (await api.get('/v1/plans')).body.plans as unknown[];
    expect(plans).toHaveLength(1);
  });

  it('imports: a line with such text is rejected with its line number; the other lines are kept', async () => {
    const customer = await newCustomer();
    const ts = new Date(Date.now() - 3600_000).toISOString();
    const file = [
      JSON.stringify({ id: `i_${uid()}`, customer, feature: 'gpt-4', timestamp: ts }),
      `{"id":"i_${uid()}","customer":"${customer}","feature":"gpt-4","timestamp":"${ts}","properties":{"k":"\\ud800"}}`,
      `{"id":"i_${uid()}","customer":"${customer}","feature":"gpt-4","timestamp":"${ts}","entity":"e\\u0000"}`,
      `{"id":"i_${uid()}","customer":"${customer}","feature":"gpt-4","timestamp":"${ts}","properties":{"a\\u0000":1}}`,
      JSON.stringify({ id: `i_${uid()}`, customer, feature: 'gpt-4', timestamp: ts }),
    ].join('\n');
    const started = await upload(secret, `${file}\n`, '?mode=report');
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const done = await waitFor(api, started.body.id, ['completed']);
    expect(done).toMatchObject({ accepted: 2, rejected: 3 });
    const res = await fetch(`${apiUrl()}/v1/imports/${started.body.id}/rejected`, { headers: { Authorization: `Bearer ${secret}` } });
    const rows = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { line: number; reason: string });
    expect(rows.map((r) => r.line)).toEqual([2, 3, 4]);
    expect(rows[0]!.reason).toMatch(/^properties\.k: .*surrogate/);
    expect(rows[1]!.reason).toMatch(/^entity: .*NUL/);
    expect(rows[2]!.reason).toMatch(/^properties\..*NUL/);
  });

  it('imports: a CSV line with a raw NUL byte is rejected with its line number', async () => {
    const customer = await newCustomer();
    const ts = new Date(Date.now() - 3600_000).toISOString();
    const file = `id,customer,feature,timestamp\ni_${uid()},${customer},gpt-4,${ts}\ni_${uid()},${customer}\u0000,gpt-4,${ts}\n`;
    const started = await upload(secret, file, '?mode=report', { 'Content-Type': 'text/csv' });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const done = await waitFor(api, started.body.id, ['completed']);
    expect(done).toMatchObject({ accepted: 1, rejected: 1 });
    const res = await fetch(`${apiUrl()}/v1/imports/${started.body.id}/rejected`, { headers: { Authorization: `Bearer ${secret}` } });
    const [row] = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { line: number; reason: string; content: string });
    expect(row).toMatchObject({ line: 3, reason: 'customer: must not contain a NUL byte (\\u0000)' });
    expect(row!.content).toContain(`${customer}\\u0000,gpt-4`);
  });
});

describe('paths and queries', () => {
  it('malformed percent-encoding and NUL bytes in a path are a 400, not a 500', async () => {
    const broken = await api.get('/v1/purchases/%E0%A4%A');
    expect(broken.status, JSON.stringify(broken.body)).toBe(400);
    expect(broken.body.error.message).toMatch(/percent-encod/);
    expectNamed(await api.get('/v1/customers/a%00b'), 'id');
    // UTF-8 bytes of a lone surrogate are not valid percent-encoding either
    expect((await api.get('/v1/customers/sur%ED%A0%80x')).status).toBe(400);
  });

  it('/v1/usage: an unknown time zone is a 400 naming it', async () => {
    const res = await api.get('/v1/usage?timezone=Mars/Olympus');
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.message).toContain('Mars/Olympus');
    // a zone Intl reads case-insensitively is answered under its canonical name, not passed to ClickHouse as typed
    const lower = await api.get('/v1/usage?timezone=europe/paris&window=day');
    expect(lower.status, JSON.stringify(lower.body)).toBe(200);
    expect(lower.body.timezone).toBe('Europe/Paris');
  });

  it('/v1/usage: unknown query keys and malformed property filters are a 400, never unfiltered totals', async () => {
    for (const q of ['customer=c1', 'feature=gpt-4', 'foo=1', 'property.=x', 'property.a%20b=x', 'properties.model=x', 'property.model=a&property.model=b']) {
      const res = await api.get(`/v1/usage?${q}`);
      expect(res.status, `${q}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body.error.code, q).toBe('validation_error');
    }
    expect((await api.get('/v1/usage?property.model=gpt-4o')).status).toBe(200);
  });

  it('/v1/usage: a `to` beyond now is answered with the usage up to it; one past what ClickHouse can hold is refused, saying why', async () => {
    const customer = await newCustomer();
    await api.post('/v1/attach', { customer, product: 'free' });
    const tracked = await api.post('/v1/track', { customer, feature: 'gpt-4', value: 2 });
    expect(tracked.status, JSON.stringify(tracked.body)).toBe(200);
    const to = new Date(Math.ceil(Date.now() / 86_400_000 + 1) * 86_400_000).toISOString(); // tomorrow's midnight (daily rollup)
    const nextYear = new Date(Date.now() + 365 * 86_400_000);
    nextYear.setUTCHours(0, 0, 0, 0);
    for (const [label, query] of [
      ['tomorrow', `customers=${customer}&to=${to}`],
      ['a year ahead, explicit from', `customers=${customer}&from=${new Date(Date.now() - 86_400_000).toISOString()}&to=${nextYear.toISOString()}`],
    ] as const) {
      const row = await eventually(async () => {
        const res = await api.get(`/v1/usage?${query}`);
        expect(res.status, `${label}: ${JSON.stringify(res.body)}`).toBe(200);
        return res.body.data[0];
      });
      expect(row, label).toMatchObject({ sumValue: 2, sumCredits: 40, count: 1 });
    }
    const far = await api.get(`/v1/usage?customers=${customer}&to=2300-01-01T00:00:00Z`);
    expect(far.status, JSON.stringify(far.body)).toBe(400);
    expect(far.body.error.message).toMatch(/to.*2106/);
  });
});

describe('idempotency, limits and exact amounts', () => {
  it('an Idempotency-Key reused on /v1/addon with another body is a 422; the same body answers the same purchase', async () => {
    const customer = await newCustomer();
    const key = `order-${uid()}`;
    const first = await api.post('/v1/addon', { customer, pack: 'pack-10', quantity: 1 }, { 'Idempotency-Key': key });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const same = await api.post('/v1/addon', { customer, pack: 'pack-10', quantity: 1 }, { 'Idempotency-Key': key });
    expect(same.status).toBe(200);
    expect(same.body.reference).toBe(first.body.reference);
    for (const other of [
      { customer, pack: 'pack-10', quantity: 2 },
      { customer: await newCustomer(), pack: 'pack-10', quantity: 1 },
      { customer, pack: 'pack-10', quantity: 1, metadata: { order: 7 } },
      { customer, pack: 'pack-10', quantity: 1, callbackUrl: 'https://app.example/thanks' },
    ]) {
      const reused = await api.post('/v1/addon', other, { 'Idempotency-Key': key });
      expect(reused.status, JSON.stringify(reused.body)).toBe(422);
      expect(reused.body.error.code).toBe('idempotency_key_reused');
    }
  });

  it('the event value limit is the one its error message states', async () => {
    const customer = await newCustomer();
    const over = await api.post('/v1/track', { customer, feature: 'gpt-4', value: 9_007_199_255 });
    expect(over.status).toBe(400);
    const stated = /be at most ([\d.]+)/.exec(over.body.error.message)?.[1];
    expect(stated, over.body.error.message).toBeDefined();
    // the stated maximum itself is accepted by check (same schema; a standalone feature, no debit), anything above it refused
    const atLimit = await api.post('/v1/check', { customer, feature: 'units', value: Number(stated) });
    expect(atLimit.status, JSON.stringify(atLimit.body)).toBe(200);
    const above = await api.post('/v1/check', { customer, feature: 'units', value: Number(stated) + 0.5 });
    expect(above.status, JSON.stringify(above.body)).toBe(400);
  });

  it('a plan interval outside the documented list is a 400 at sync', async () => {
    const bad = structuredClone(catalog);
    bad.plans[0]!.interval = 'fortnightly';
    expectNamed(await api.post('/v1/sync', bad), 'plans.0.interval');
  });

  it('a credit cost whose plan limit times it exceeds 2^53 micro-credits is refused at sync, naming it', async () => {
    const bad = structuredClone(catalog) as typeof catalog & { plans: { features: Record<string, unknown>[] }[] };
    bad.plans[0]!.features.push({ slug: 'huge', limit: 2_000_000 }); // 2e6 units x 5e6 credits = 1e13 credits
    const res = await api.post('/v1/sync', bad);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.message).toMatch(/huge.*2\^53/);
    const override = structuredClone(catalog) as typeof catalog & { plans: { features: Record<string, unknown>[] }[] };
    override.plans[0]!.features.push({ slug: 'gpt-4', limit: 1_000_000, creditCost: 1_000_000 });
    expect((await api.post('/v1/sync', override)).status).toBe(400);
  });
});
