import { insertJsonLines, queryRows, runCommand, type ClickHouseClient } from '@tally/clickhouse';
import type { SqlRunner } from './repair.ts';

/** The server's ClickHouse behind the repair's two needs (tests run the same repair on chdb). */
export const clickhouseRunner = (client: ClickHouseClient): SqlRunner => ({
  rows: <T>(query: string) => queryRows<T>(client, query),
  exec: (query: string) => runCommand(client, query),
  insertJsonLines: (database: string, table: string, lines: string[]) => insertJsonLines(client, { database, table }, lines),
});
