import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { createClickHouse, type ClickHouseConfig } from './client.ts';
import { ident } from './sql.ts';
import { queryRows } from './query.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

/**
 * Numbered, idempotent ClickHouse migrations (packages/clickhouse/migrations).
 * Each file holds statements separated by lines of `;` at end of statement;
 * every statement is written to be safe to run twice (IF NOT EXISTS), and the
 * applied versions are recorded in `schema_migrations`.
 * `{db}` in a file is replaced with the configured (validated) database name.
 */
export async function migrateClickHouse(config: ClickHouseConfig, dir = MIGRATIONS_DIR): Promise<string[]> {
  const db = ident(config.database).text;
  const admin = createClickHouse(config, null);
  try {
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  } finally {
    await admin.close();
  }
  const client = createClickHouse(config);
  try {
    await client.command({
      query: `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (version String, applied_at DateTime DEFAULT now()) ENGINE = MergeTree ORDER BY version`,
    });
    const done = new Set((await queryRows<{ version: string }>(client, `SELECT version FROM ${db}.schema_migrations`)).map((r) => r.version));
    const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
    const applied: string[] = [];
    for (const file of files) {
      const version = file.replace(/\.sql$/, '');
      if (done.has(version)) continue;
      const text = (await readFile(path.join(dir, file), 'utf8')).replaceAll('{db}', db);
      for (const statement of splitStatements(text)) await client.command({ query: statement });
      await client.command({ query: `INSERT INTO ${db}.schema_migrations (version) VALUES ('${version}')` });
      applied.push(version);
    }
    return applied;
  } finally {
    await client.close();
  }
}

export function splitStatements(text: string): string[] {
  return text
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter(Boolean);
}
