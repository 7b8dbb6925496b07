import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ident, literal } from '@tally/clickhouse';

/** docs/analytics/queries: the analysts' example queries, run by tests against both ClickHouse generations. */
export const EXAMPLE_QUERIES_DIR = fileURLToPath(new URL('../../../../docs/analytics/queries/', import.meta.url));

export interface ExampleQuery {
  name: string;
  text: string;
}

export async function loadExampleQueries(dir = EXAMPLE_QUERIES_DIR): Promise<ExampleQuery[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  return Promise.all(files.map(async (f) => ({ name: f.replace(/\.sql$/, ''), text: await readFile(path.join(dir, f), 'utf8') })));
}

/**
 * Fills an example's placeholders: `{db}` with the database (identifier) and
 * `{tenant_id}` with the tenant (string literal), both through sql.ts. Only
 * these two exist, so an analyst can paste a query and replace them by hand.
 */
export function renderExample(text: string, database: string, tenantId: string): string {
  return text
    .replace(/^\s*--.*$/gm, '')
    .replaceAll('{db}', ident(database).text)
    .replaceAll('{tenant_id}', literal(tenantId))
    .trim()
    .replace(/;$/, '');
}
