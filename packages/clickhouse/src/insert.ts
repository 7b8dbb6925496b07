import { Readable } from 'node:stream';
import type { ClickHouseClient } from './client.ts';
import { ident } from './sql.ts';

export type InsertFormat = 'JSONEachRow' | 'TabSeparated';

export interface InsertTarget {
  database: string;
  table: string;
  /** The columns the lines fill, in order (TabSeparated); all of the table's when omitted. */
  columns?: readonly string[];
}

/**
 * The one insert of pre-serialized text: `INSERT INTO db.table (cols) FORMAT f`
 * with the body sent as one Buffer, the response drained before it resolves
 * (the server answers once every row is written). BatchingWriter inserts row
 * objects; everything that builds its own lines (imports, the purchase mirror,
 * the staged ids) comes here.
 */
export async function insertText(client: ClickHouseClient, target: InsertTarget, format: InsertFormat, body: string): Promise<void> {
  if (body === '') return;
  const cols = target.columns ? ` (${target.columns.map((c) => ident(c).text).join(', ')})` : '';
  const result = await client.exec({
    query: `INSERT INTO ${ident(target.database).text}.${ident(target.table).text}${cols} FORMAT ${format}`,
    values: Readable.from([Buffer.from(body)]),
  });
  result.stream.resume();
  await new Promise<void>((resolve, reject) => {
    result.stream.on('end', resolve);
    result.stream.on('error', reject);
  });
}

/** JSONEachRow lines (built with `jsonRow`, so Int64 amounts stay exact bigints) in one INSERT. */
export const insertJsonLines = (client: ClickHouseClient, target: InsertTarget, lines: readonly string[]): Promise<void> =>
  lines.length === 0 ? Promise.resolve() : insertText(client, target, 'JSONEachRow', lines.join('\n'));

/**
 * TabSeparated lines (built with `tsvRow`) in one INSERT: the cheapest format
 * for the server to parse, which is what bounds bulk imports on 18.16.
 */
export const insertTsvLines = (client: ClickHouseClient, target: InsertTarget, lines: readonly string[]): Promise<void> =>
  lines.length === 0 ? Promise.resolve() : insertText(client, target, 'TabSeparated', lines.join('\n') + '\n');
