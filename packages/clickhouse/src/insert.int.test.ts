import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DependencyUnavailableError, parseConfig, sharedEnv } from '@tally/runtime';
import { createClickHouse } from './client.ts';
import { insertJsonLines, insertText, insertTsvLines } from './insert.ts';
import { queryRows } from './query.ts';
import { jsonRow, tsvRow } from './rows.ts';

/** The one insert of pre-serialized lines, against the real ClickHouse. */
const config = parseConfig(sharedEnv);
const database = config.CLICKHOUSE_DATABASE;
const clickhouse = createClickHouse({ url: config.CLICKHOUSE_URL, database, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });
const table = `insert_int_${randomUUID().replaceAll('-', '').slice(0, 12)}`;

beforeAll(async () => {
  await clickhouse.command({ query: `CREATE TABLE ${database}.${table} (k String, s String, n Int64) ENGINE = MergeTree ORDER BY k` });
});
afterAll(async () => {
  await clickhouse.command({ query: `DROP TABLE IF EXISTS ${database}.${table}` });
  await clickhouse.close();
});

const stored = (prefix: string) =>
  queryRows<{ k: string; s: string; n: string }>(clickhouse, `SELECT k, s, toString(n) AS n FROM ${database}.${table} WHERE startsWith(k, '${prefix}') ORDER BY k`);

describe('insertText', () => {
  it('stores JSONEachRow lines with exact Int64 values, and resolves once they are readable', async () => {
    const run = `json-${randomUUID().slice(0, 8)}-`;
    await insertJsonLines(clickhouse, { database, table }, [jsonRow({ k: `${run}a`, s: 'x "quoted"', n: 9_007_199_254_740_993n }), jsonRow({ k: `${run}b`, s: '😀', n: 2 })]);
    expect(await stored(run)).toEqual([
      { k: `${run}a`, s: 'x "quoted"', n: '9007199254740993' },
      { k: `${run}b`, s: '😀', n: '2' },
    ]);
  });

  it('stores TabSeparated lines into the named columns, escapes included', async () => {
    const run = `tsv-${randomUUID().slice(0, 8)}-`;
    await insertTsvLines(clickhouse, { database, table, columns: ['n', 'k', 's'] }, [tsvRow([7n, `${run}a`, 'tab\there\nnewline\\'])]);
    expect(await stored(run)).toEqual([{ k: `${run}a`, s: 'tab\there\nnewline\\', n: '7' }]);
  });

  it('sends nothing for no lines, and reports a refused body as the server error', async () => {
    await insertTsvLines(clickhouse, { database, table: 'no_such_table_at_all' }, []);
    await insertText(clickhouse, { database, table: 'no_such_table_at_all' }, 'JSONEachRow', '');
    await expect(insertText(clickhouse, { database, table }, 'JSONEachRow', '{"k":"x","n":"not a number"}')).rejects.toThrow(/Code: \d+/);
  });

  it('an unreachable server is DependencyUnavailableError', async () => {
    const down = createClickHouse({ url: 'http://127.0.0.1:1', database, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });
    await expect(insertJsonLines(down, { database, table }, [jsonRow({ k: 'x', s: '', n: 1 })])).rejects.toBeInstanceOf(DependencyUnavailableError);
    await down.close();
  });
});
