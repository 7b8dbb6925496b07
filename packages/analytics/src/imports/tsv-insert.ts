import { Readable } from 'node:stream';
import { ident, type ClickHouseClient } from '@tally/clickhouse';

/**
 * Inserts a ready TabSeparated body (every line ending in a newline) into the
 * given columns of `database.table` in one INSERT: one request per chunk, the
 * body sent as one Buffer (no per-row work left on the way out).
 */
export async function insertTsvText(client: ClickHouseClient, database: string, table: string, columns: readonly string[], body: string): Promise<void> {
  if (body === '') return;
  const cols = columns.map((c) => ident(c).text).join(', ');
  const result = await client.exec({
    query: `INSERT INTO ${ident(database).text}.${ident(table).text} (${cols}) FORMAT TabSeparated`,
    values: Readable.from([Buffer.from(body)]),
  });
  result.stream.resume();
  await new Promise<void>((resolve, reject) => {
    result.stream.on('end', resolve);
    result.stream.on('error', reject);
  });
}
