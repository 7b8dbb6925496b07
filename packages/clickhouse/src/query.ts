import type { ClickHouseClient } from './client.ts';
import type { Sql } from './sql.ts';

/** A SELECT's rows (JSONEachRow); build `query` with the `sql` tag. */
export async function queryRows<T>(client: ClickHouseClient, query: Sql | string): Promise<T[]> {
  const result = await client.query({ query: typeof query === 'string' ? query : query.text, format: 'JSONEachRow' });
  return result.json<T>();
}

/** A statement without rows (ALTER, DROP PARTITION, …). */
export async function runCommand(client: ClickHouseClient, query: Sql | string): Promise<void> {
  await client.command({ query: typeof query === 'string' ? query : query.text });
}
