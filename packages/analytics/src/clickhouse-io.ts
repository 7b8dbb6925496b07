import { Readable } from 'node:stream';
import { ident, type ClickHouseClient, type Sql } from '@tally/clickhouse';

/**
 * Inserts pre-serialized JSONEachRow lines (built with `jsonRow`, so Int64
 * amounts stay exact bigints) into `database.table` in one INSERT.
 */
export async function insertJsonLines(client: ClickHouseClient, database: string, table: string, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  const result = await client.exec({
    query: `INSERT INTO ${ident(database).text}.${ident(table).text} FORMAT JSONEachRow`,
    values: Readable.from([lines.join('\n')]),
  });
  result.stream.resume();
  await new Promise<void>((resolve, reject) => {
    result.stream.on('end', resolve);
    result.stream.on('error', reject);
  });
}

/**
 * Inserts TabSeparated lines (built with `tsvRow`) into the given columns of
 * `database.table`: the cheapest format for the server to parse, which is what
 * bounds bulk imports on 18.16.
 */
export async function insertTsvLines(client: ClickHouseClient, database: string, table: string, columns: readonly string[], lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  const cols = columns.map((c) => ident(c).text).join(', ');
  const result = await client.exec({
    query: `INSERT INTO ${ident(database).text}.${ident(table).text} (${cols}) FORMAT TabSeparated`,
    values: Readable.from([lines.join('\n') + '\n']),
  });
  result.stream.resume();
  await new Promise<void>((resolve, reject) => {
    result.stream.on('end', resolve);
    result.stream.on('error', reject);
  });
}

const TSV_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };

/** One TabSeparated field: backslash, tab, newline, carriage return and NUL escaped as ClickHouse reads them. */
export const tsvField = (value: string | number | bigint): string =>
  typeof value === 'string' ? value.replace(/[\\\t\n\r\0]/g, (c) => TSV_ESCAPES[c] ?? c) : value.toString();

export const tsvRow = (values: readonly (string | number | bigint)[]): string => values.map(tsvField).join('\t');

/** One JSONEachRow line; bigint values are written as JSON numbers without going through a float. */
export function jsonRow(row: Record<string, string | number | bigint>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(row)) {
    parts.push(`${JSON.stringify(key)}:${typeof value === 'bigint' ? value.toString() : JSON.stringify(value)}`);
  }
  return `{${parts.join(',')}}`;
}

export async function queryJson<T>(client: ClickHouseClient, query: Sql): Promise<T[]> {
  const result = await client.query({ query: query.text, format: 'JSONEachRow' });
  return result.json<T>();
}

export async function runCommand(client: ClickHouseClient, query: Sql): Promise<void> {
  await client.command({ query: query.text });
}
