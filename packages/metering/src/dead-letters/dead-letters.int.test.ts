import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchingWriter, clickHouseFromEnv, ident, inList, sql } from '@tally/clickhouse';
import { TenantService } from '@tally/catalog';
import { createPool } from '@tally/postgres';
import { AppError, parseConfig, sharedEnv } from '@tally/runtime';
import { usageRow, type UsageRow } from '../pipeline/usage-row.ts';
import { deadLetterSink } from './dead-letter-repo.ts';
import { createDeadLetterService } from '../services.ts';

/**
 * The metering writer set-up (raw_usage_events_v1, the Postgres dead-letter
 * sink) against the real ClickHouse and Postgres, with the row: a
 * customer id holding a lone UTF-16 surrogate, which ClickHouse refuses.
 */
const config = parseConfig(sharedEnv);
const pool = createPool(config.DATABASE_URL, 3);
const clickhouse = clickHouseFromEnv(config);
const tenants = new TenantService(pool);
const service = createDeadLetterService({ pool, clickhouse, clickhouseDatabase: config.CLICKHOUSE_DATABASE });
const TABLE = 'raw_usage_events_v1';

let tenantA: string;
let tenantB: string;

beforeAll(async () => {
  tenantA = (await tenants.createTenant(`dl-a-${Date.now()}`)).tenantId;
  tenantB = (await tenants.createTenant(`dl-b-${Date.now()}`)).tenantId;
});
afterAll(async () => {
  await pool.end();
  await clickhouse.close();
});

const row = (tenantId: string, customer: string, id: string, at: number): UsageRow =>
  usageRow(
    { tenantId, id, customer, feature: 'bf', valueMicro: '1000000', timestamp: at, source: 'live', properties: {} },
    { plan: 1_000_000, purchased: 0, overage: 0 },
    'ai-credits',
    'pro',
    at,
  );

async function storedPerEvent(tenantIds: string[]): Promise<Map<string, number>> {
  const q = sql`SELECT event_id, count() AS c FROM ${ident(config.CLICKHOUSE_DATABASE)}.${ident(TABLE)} WHERE tenant_id IN (${inList(tenantIds)}) GROUP BY event_id`;
  const rs = await clickhouse.query({ query: q.text, format: 'JSONEachRow' });
  return new Map((await rs.json<{ event_id: string; c: string }>()).map((r) => [r.event_id, Number(r.c)]));
}

async function letters(tenantId: string) {
  const { rows } = await pool.query<{ id: string; row_text: string; reason: string; table_name: string }>(
    'SELECT id, row_text, reason, table_name FROM usage_dead_letters WHERE tenant_id = $1',
    [tenantId],
  );
  return rows;
}

describe('rows ClickHouse refuses, in the metering writer', () => {
  const sink = deadLetterSink<UsageRow>(pool, TABLE, (r) => r.tenant_id);
  const writerWithSink = () =>
    new BatchingWriter<UsageRow>(clickhouse, config.CLICKHOUSE_DATABASE, TABLE, {
      maxDelayMs: 60_000,
      deadLetter: async (rows, reason) => void (await sink(rows, reason)),
    });
  const now = Date.now();
  const bad = () => row(tenantB, 'sur\ud800x', 'evt-surrogate', now);

  it('stores every good row of both tenants once, the refused one in usage_dead_letters with its reason, and resolves every write', async () => {
    const writer = writerWithSink();
    const jobA = Array.from({ length: 30 }, (_, i) => row(tenantA, `cust-${i % 4}`, `a-${i}`, now + i));
    const jobB = Array.from({ length: 30 }, (_, i) => row(tenantB, `cust-${i % 3}`, `b-${i}`, now + i));
    const jobMixed = [row(tenantA, 'cust-x', 'a-mixed', now), bad(), row(tenantB, 'cust-y', 'b-mixed', now)];
    const started = Date.now();
    const writes = [writer.write(jobA), writer.write(jobMixed), writer.write(jobB)];
    await writer.flush();
    expect((await Promise.allSettled(writes)).map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(Date.now() - started).toBeLessThan(10_000);

    const expected = new Map([...jobA, ...jobB, ...jobMixed].filter((r) => r.event_id !== 'evt-surrogate').map((r) => [r.event_id, 1]));
    expect(await storedPerEvent([tenantA, tenantB])).toEqual(expected);

    expect(await letters(tenantA)).toEqual([]);
    const [letter, ...more] = await letters(tenantB);
    expect(more).toEqual([]);
    expect(letter!.table_name).toBe(TABLE);
    expect(letter!.reason).toMatch(/^CANNOT_PARSE_ESCAPE_SEQUENCE \(25\): .*surrogate.*customer_id/);
    expect(letter!.row_text).toBe(JSON.stringify(bad()));
    expect((JSON.parse(letter!.row_text) as UsageRow).customer_id).toBe('sur\ud800x');
  });

  it('the same refused row written again (its job retried) is kept once', async () => {
    const writer = writerWithSink();
    await Promise.all([writer.write([bad()]), writer.flush()]);
    expect(await letters(tenantB)).toHaveLength(1);
  });

  it('replay: refused again without repair (422, kept), inserted once with repair, then 409; another tenant gets 404', async () => {
    const [letter] = await letters(tenantB);
    const id = letter!.id;
    await expect(service.replay(tenantA, id, { repair: true })).rejects.toMatchObject({ status: 404, code: 'dead_letter_not_found' });

    const refused = await service.replay(tenantB, id, { repair: false }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ status: 422, code: 'dead_letter_refused', details: { attempts: 1 } });
    expect((refused as AppError).message).toMatch(/CANNOT_PARSE_ESCAPE_SEQUENCE/);

    const replayed = await service.replay(tenantB, id, { repair: true });
    expect(replayed).toMatchObject({ success: true, repaired: true, deadLetter: { id, attempts: 2 } });
    expect(replayed.deadLetter.replayedAt).not.toBeNull();
    expect(replayed.deadLetter.lastError).toMatch(/CANNOT_PARSE_ESCAPE_SEQUENCE/);

    const q = sql`SELECT customer_id, count() AS c FROM ${ident(config.CLICKHOUSE_DATABASE)}.${ident(TABLE)} WHERE tenant_id = ${tenantB} AND event_id = 'evt-surrogate' GROUP BY customer_id`;
    const rs = await clickhouse.query({ query: q.text, format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([{ customer_id: 'sur\uFFFDx', c: '1' }]);

    await expect(service.replay(tenantB, id, { repair: true })).rejects.toMatchObject({ status: 409, code: 'dead_letter_already_replayed' });
    expect((await storedPerEvent([tenantB])).get('evt-surrogate')).toBe(1);
  });

  it('two replays at once insert the row once', async () => {
    const writer = writerWithSink();
    const twin = row(tenantA, 'twin\ud83d', 'evt-twin', now);
    await Promise.all([writer.write([twin]), writer.flush()]);
    const [letter] = await letters(tenantA);
    const results = await Promise.allSettled([service.replay(tenantA, letter!.id, { repair: true }), service.replay(tenantA, letter!.id, { repair: true })]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { status: 409, code: 'dead_letter_already_replayed' } });
    expect((await storedPerEvent([tenantA])).get('evt-twin')).toBe(1);
  });
});
