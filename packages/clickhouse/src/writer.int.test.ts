import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DependencyUnavailableError, parseConfig, sharedEnv } from '@tally/runtime';
import { createClickHouse, clickHouseFromEnv, type ClickHouseClient } from './client.ts';
import { ident, sql } from './sql.ts';
import { BatchingWriter } from './writer.ts';

/**
 * The batching writer against the real ClickHouse: a row the server refuses
 * for its content is isolated by bisection and handed to the dead-letter
 * sink; every other row is inserted once; no caller waits on a retry loop.
 */
const config = parseConfig(sharedEnv);
const clickhouse = clickHouseFromEnv(config);
const table = `writer_int_${randomUUID().replaceAll('-', '').slice(0, 12)}`;

interface Row extends Record<string, unknown> {
  k: string;
  tenant: string;
  s: string;
  t: number | string;
  n: string;
}

beforeAll(async () => {
  await clickhouse.command({ query: `CREATE TABLE ${config.CLICKHOUSE_DATABASE}.${table} (k String, tenant String, s String, t DateTime, n Int64) ENGINE = MergeTree ORDER BY k` });
});
afterAll(async () => {
  await clickhouse.command({ query: `DROP TABLE IF EXISTS ${config.CLICKHOUSE_DATABASE}.${table}` });
  await clickhouse.close();
});

const good = (tenant: string, k: string, i: number): Row => ({ k, tenant, s: `value ${i} 😀`, t: 1_700_000_000 + i, n: String(i) });
/** JSON.stringify escapes it as "\ud800", which ClickHouse refuses: CANNOT_PARSE_ESCAPE_SEQUENCE (25). */
const loneSurrogate = (tenant: string, k: string): Row => ({ k, tenant, s: 'sur\ud800x', t: 1_700_000_000, n: '1' });
/** A DateTime column given a string that is no date: refused with a parse error. */
const notADate = (tenant: string, k: string): Row => ({ k, tenant, s: 'ok', t: 'not-a-date', n: '1' });

/** Counts insert calls; `failFrom` makes the n-th and later calls fail as if the server went away. */
function counting(client: ClickHouseClient, failFrom = Infinity) {
  const counter = { inserts: 0 };
  const wrapped = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== 'insert') return Reflect.get(target, prop, receiver);
      return async (...args: Parameters<ClickHouseClient['insert']>) => {
        counter.inserts += 1;
        if (counter.inserts >= failFrom) throw new DependencyUnavailableError('clickhouse', new Error('connect ECONNREFUSED'));
        return target.insert(...args);
      };
    },
  });
  return { client: wrapped, counter };
}

async function storedCounts(prefix: string): Promise<Map<string, number>> {
  const q = sql`SELECT k, count() AS c FROM ${ident(config.CLICKHOUSE_DATABASE)}.${ident(table)} WHERE startsWith(k, ${prefix}) GROUP BY k`;
  const rs = await clickhouse.query({ query: q.text, format: 'JSONEachRow' });
  return new Map((await rs.json<{ k: string; c: string }>()).map((r) => [r.k, Number(r.c)]));
}

function settle(promises: Promise<void>[]) {
  return Promise.allSettled(promises).then((r) => r.map((x) => x.status));
}

describe('BatchingWriter and rows ClickHouse refuses', () => {
  it('inserts every good row of two tenants once, dead-letters the refused rows with their reason, and resolves every write', async () => {
    const run = `iso-${randomUUID().slice(0, 8)}-`;
    const { client, counter } = counting(clickhouse);
    const letters: { rows: Row[]; reason: string }[] = [];
    let flushed = 0;
    const writer = new BatchingWriter<Row>(client, config.CLICKHOUSE_DATABASE, table, {
      maxDelayMs: 60_000,
      onFlush: (rows) => (flushed += rows),
      deadLetter: async (rows, reason) => void letters.push({ rows, reason }),
    });
    // Three callers (jobs): tenant A's rows only; tenant B's rows around a lone surrogate; tenant B again with a bad date.
    const a = Array.from({ length: 40 }, (_, i) => good('tenant-a', `${run}a-${i}`, i));
    const b = [...Array.from({ length: 17 }, (_, i) => good('tenant-b', `${run}b-${i}`, i)), loneSurrogate('tenant-b', `${run}bad-surrogate`), ...Array.from({ length: 13 }, (_, i) => good('tenant-b', `${run}b-${17 + i}`, i))];
    const c = [...Array.from({ length: 25 }, (_, i) => good('tenant-b', `${run}c-${i}`, i)), notADate('tenant-b', `${run}bad-date`)];
    const writes = [writer.write(a), writer.write(b), writer.write(c)];
    await writer.flush();
    expect(await settle(writes)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);

    // Expectation computed from the inputs: every row whose key does not say "bad" is stored exactly once.
    const expected = new Map([...a, ...b, ...c].filter((r) => !r.k.includes('bad')).map((r) => [r.k, 1]));
    expect(await storedCounts(run)).toEqual(expected);
    expect(flushed).toBe(expected.size);
    const byKey = new Map(letters.flatMap((l) => l.rows.map((r) => [r.k, l.reason])));
    expect([...byKey.keys()].sort()).toEqual([`${run}bad-date`, `${run}bad-surrogate`]);
    expect(byKey.get(`${run}bad-surrogate`)).toMatch(/^CANNOT_PARSE_ESCAPE_SEQUENCE \(25\): .*surrogate/);
    expect(byKey.get(`${run}bad-date`)).toMatch(/^CANNOT_PARSE_\w+ \(\d+\): .*\bt\b/);
    // Each reason comes from the row's own insert, so it quotes no other row (no other tenant's data).
    for (const reason of byKey.values()) expect(reason).not.toMatch(/"k":/);
    // Bisection, not a retry loop: the first insert, then about 2·log2(97) per refused row.
    expect(counter.inserts).toBeLessThanOrEqual(1 + 2 * 2 * Math.ceil(Math.log2(97)));
  });

  it('without a dead-letter sink a refused batch fails every caller, as before, and stores nothing', async () => {
    const run = `nosink-${randomUUID().slice(0, 8)}-`;
    const writer = new BatchingWriter<Row>(clickhouse, config.CLICKHOUSE_DATABASE, table, { maxDelayMs: 60_000 });
    const writes = [writer.write([good('t', `${run}1`, 1)]), writer.write([loneSurrogate('t', `${run}bad`)])];
    await writer.flush();
    expect(await settle(writes)).toEqual(['rejected', 'rejected']);
    expect((await storedCounts(run)).size).toBe(0);
  });

  it('an unreachable server stays retryable: callers get the error and nothing is dead-lettered', async () => {
    const down = createClickHouse({ url: 'http://127.0.0.1:1', database: config.CLICKHOUSE_DATABASE, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });
    let sinkCalls = 0;
    const writer = new BatchingWriter<Row>(down, config.CLICKHOUSE_DATABASE, table, { maxDelayMs: 60_000, deadLetter: async () => void sinkCalls++ });
    const write = writer.write([good('t', 'x', 1), loneSurrogate('t', 'y')]);
    await writer.flush();
    await expect(write).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(sinkCalls).toBe(0);
    await down.close();
  });

  it('the server going away during the bisection fails the callers whose rows were not stored', async () => {
    const run = `midway-${randomUUID().slice(0, 8)}-`;
    const { client } = counting(clickhouse, 2); // the first (refused) insert reaches ClickHouse, the next ones do not
    let sinkCalls = 0;
    const writer = new BatchingWriter<Row>(client, config.CLICKHOUSE_DATABASE, table, { maxDelayMs: 60_000, deadLetter: async () => void sinkCalls++ });
    const writes = [writer.write(Array.from({ length: 10 }, (_, i) => good('t', `${run}a-${i}`, i))), writer.write([good('t', `${run}b`, 1), loneSurrogate('t', `${run}bad`)])];
    await writer.flush();
    expect(await settle(writes)).toEqual(['rejected', 'rejected']);
    expect(sinkCalls).toBe(0);
    expect((await storedCounts(run)).size).toBe(0);
  });

  it('a failing sink fails only the callers of the refused rows; the good rows, theirs included, are stored', async () => {
    const run = `sinkfail-${randomUUID().slice(0, 8)}-`;
    const writer = new BatchingWriter<Row>(clickhouse, config.CLICKHOUSE_DATABASE, table, {
      maxDelayMs: 60_000,
      deadLetter: async () => {
        throw new Error('postgres is down');
      },
    });
    const writes = [writer.write([good('t', `${run}a`, 1)]), writer.write([good('t', `${run}b`, 2), notADate('t', `${run}bad`)]), writer.write([good('t', `${run}c`, 3)])];
    await writer.flush();
    const settled = await Promise.allSettled(writes);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toHaveProperty('message', 'postgres is down');
    expect(await storedCounts(run)).toEqual(new Map([[`${run}a`, 1], [`${run}b`, 1], [`${run}c`, 1]]));
  });
});
