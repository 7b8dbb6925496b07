import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import tally, { isServiceFile } from './tally-plugin.js';

const linter = new Linter({ configType: 'flat', cwd: '/' });
const config = [
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { tally },
    rules: { 'tally/no-database-client-in-service': 'error', 'tally/processor-has-queue': 'error' },
  },
] as Linter.Config[];
const lint = (code: string, filename: string) => linter.verify(code, config, { filename }).map((m) => m.ruleId ?? m.message);

describe('tally/no-database-client-in-service', () => {
  const service = '/repo/packages/x/src/orders/order-service.ts';

  it('refuses the drivers and the raw clients in a service, type imports included', () => {
    expect(lint("import pg from 'pg';", service)).toEqual(['tally/no-database-client-in-service']);
    expect(lint("import type { Redis } from 'ioredis';", service)).toEqual(['tally/no-database-client-in-service']);
    expect(lint("import { createClient } from '@clickhouse/client';", service)).toEqual(['tally/no-database-client-in-service']);
    expect(lint("import type { Pool } from '@tally/postgres';", service)).toEqual(['tally/no-database-client-in-service']);
    expect(lint("import { keys, type RedisClient } from '@tally/redis';", service)).toEqual(['tally/no-database-client-in-service']);
    expect(lint("import type { ClickHouseClient } from '@tally/clickhouse';", service)).toEqual(['tally/no-database-client-in-service']);
    expect(lint("import * as pgx from '@tally/postgres';", service)).toEqual(['tally/no-database-client-in-service']);
    expect(lint("export { createPool } from '@tally/postgres';", service)).toEqual(['tally/no-database-client-in-service']);
    expect(lint("import { createClickHouse } from '../../../clickhouse/src/client.ts';", service)).toEqual(['tally/no-database-client-in-service']);
  });

  it('lets a service use the rest of those packages, and lets repositories and adapters use the clients', () => {
    expect(lint("import { sql, ident, type Sql } from '@tally/clickhouse';\nimport { keys } from '@tally/redis';", service)).toEqual([]);
    expect(lint("import type { Pool } from '@tally/postgres';", '/repo/packages/x/src/orders/order-repo.ts')).toEqual([]);
    expect(lint("import type { Pool } from '@tally/postgres';", '/repo/packages/x/src/orders/order-service.test.ts')).toEqual([]);
    expect(lint("import type { Pool } from '@tally/postgres';", '/repo/packages/x/src/services/orders.ts')).toEqual(['tally/no-database-client-in-service']);
  });

  it('knows a service file by its name or its folder', () => {
    expect(isServiceFile('/a/src/usage/usage-service.ts')).toBe(true);
    expect(isServiceFile('/a/src/services/usage.ts')).toBe(true);
    expect(isServiceFile('/a/src/usage/usage-events.ts')).toBe(false);
    expect(isServiceFile('/a/src/usage/usage-service.int.test.ts')).toBe(false);
  });
});

describe('tally/processor-has-queue', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tally-lint-'));
  writeFileSync(path.join(dir, 'import.queue.ts'), 'export {};\n');

  it('a <name>.processor.ts needs <name>.queue.ts beside it', () => {
    expect(lint('export {};', path.join(dir, 'import.processor.ts'))).toEqual([]);
    expect(lint('export {};', path.join(dir, 'deduct.processor.ts'))).toEqual(['tally/processor-has-queue']);
    expect(lint('export {};', path.join(dir, 'chunk-processor.ts'))).toEqual([]);
  });
});
