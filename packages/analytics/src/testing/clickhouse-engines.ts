import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClickHouse, ident, insertJsonLines, migrateClickHouse, splitStatements, type ClickHouseClient } from '@tally/clickhouse';
import { parseConfig, sharedEnv } from '@tally/runtime';

/** The same SQL text against either ClickHouse generation. */
export interface Engine {
  name: string;
  database: string;
  exec(query: string): Promise<void>;
  rows<T = Record<string, unknown>>(query: string): Promise<T[]>;
  insertJsonLines(database: string, table: string, lines: string[]): Promise<void>;
  close(): Promise<void>;
}

const MIGRATIONS = fileURLToPath(new URL('../../../clickhouse/migrations/', import.meta.url));

/** The 18.16 server of deploy/local, migrated with the real migrator, database from config. */
export async function serverEngine(): Promise<Engine & { client: ClickHouseClient }> {
  const env = parseConfig(sharedEnv);
  const config = { url: env.CLICKHOUSE_URL, database: env.CLICKHOUSE_DATABASE, username: env.CLICKHOUSE_USER, password: env.CLICKHOUSE_PASSWORD };
  await migrateClickHouse(config);
  const client = createClickHouse(config);
  return {
    name: 'clickhouse-server',
    database: config.database,
    client,
    exec: async (query) => void (await client.command({ query })),
    insertJsonLines: (db, table, lines) => insertJsonLines(client, { database: db, table }, lines),
    rows: async <T>(query: string) => (await client.query({ query, format: 'JSONEachRow' })).json<T>(),
    close: () => client.close(),
  };
}

/** Current ClickHouse embedded through chdb, in a temporary session, migrated from the same files. */
export async function chdbEngine(database = 'tally'): Promise<Engine & { version: string }> {
  const { Session } = await import('chdb');
  const session = new Session();
  const db = ident(database).text;
  session.query(`CREATE DATABASE IF NOT EXISTS ${db}`);
  const files = (await readdir(MIGRATIONS)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  for (const file of files) {
    const text = (await readFile(path.join(MIGRATIONS, file), 'utf8')).replaceAll('{db}', db);
    for (const statement of splitStatements(text)) session.query(statement);
  }
  const version = session.query('SELECT version()', 'TSVRaw').trim();
  return {
    name: `chdb ${version}`,
    database,
    version,
    exec: async (query) => void session.query(query),
    insertJsonLines: async (db, table, lines) => void session.query(`INSERT INTO ${ident(db).text}.${ident(table).text} FORMAT JSONEachRow\n${lines.join('\n')}`),
    rows: async <T>(query: string) =>
      session
        .query(query, 'JSONEachRow')
        .split('\n')
        .filter(Boolean)
        .map((l: string) => JSON.parse(l) as T),
    close: async () => session.close(),
  };
}

/** Both generations, for describe.each: the 18.16 server and current ClickHouse. */
export const bothGenerations: [string, () => Promise<Engine>][] = [
  ['ClickHouse 18.16 server', serverEngine],
  ['current ClickHouse (chdb)', () => chdbEngine()],
];
