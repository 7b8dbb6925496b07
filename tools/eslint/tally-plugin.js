// Tally's own lint rules (docs/internals.md "One shape"). Plain JS: eslint.config.js loads it as is.
import { existsSync } from 'node:fs';
import path from 'node:path';

/** Database drivers: a service never names them. */
const DRIVERS = new Set(['pg', 'ioredis', '@clickhouse/client']);

/** What a package's raw client module exports: the client, its type and what makes one. */
const CLIENT_EXPORTS = {
  '@tally/postgres': new Set(['Pool', 'PoolClient', 'Queryable', 'createPool', 'boundPool', 'withTransaction']),
  '@tally/redis': new Set(['RedisClient', 'createRedis', 'bullConnection', 'bullOptions']),
  '@tally/clickhouse': new Set(['ClickHouseClient', 'createClickHouse', 'withDependencyErrors']),
};

/** The same modules reached by a relative path (inside those packages). */
const CLIENT_MODULES = [
  'packages/postgres/src/pool.ts',
  'packages/postgres/src/bounded-pool.ts',
  'packages/redis/src/connection.ts',
  'packages/redis/src/cluster.ts',
  'packages/clickhouse/src/client.ts',
];

/** A service file: `*-service.ts`, or anything under a `services/` folder (tests excluded). */
export const isServiceFile = (file) => {
  const f = file.split(path.sep).join('/');
  if (/\.test\.ts$/.test(f)) return false;
  return /-service\.ts$/.test(f) || /\/services\/[^/]+\.ts$/.test(f);
};

const noDatabaseClientInService = {
  meta: {
    type: 'problem',
    docs: { description: 'a service reaches storage through a repository or adapter interface, never a database client' },
    schema: [],
    messages: {
      driver: "a service must not import '{{source}}': take a repository or adapter interface instead",
      client: "a service must not import {{name}} from '{{source}}' (a raw client): take a repository or adapter interface instead",
      module: "a service must not import the raw client module '{{source}}': take a repository or adapter interface instead",
    },
  },
  create(context) {
    const file = context.filename ?? context.getFilename();
    if (!isServiceFile(file)) return {};
    const check = (node, source, names) => {
      if (typeof source !== 'string') return;
      if (DRIVERS.has(source) || [...DRIVERS].some((d) => source.startsWith(`${d}/`))) {
        context.report({ node, messageId: 'driver', data: { source } });
        return;
      }
      const forbidden = CLIENT_EXPORTS[source];
      if (forbidden) {
        for (const name of names) if (name === '*' || forbidden.has(name)) context.report({ node, messageId: 'client', data: { name, source } });
        return;
      }
      if (source.startsWith('.')) {
        const target = path.resolve(path.dirname(file), source).split(path.sep).join('/');
        if (CLIENT_MODULES.some((m) => target.endsWith(`/${m}`))) context.report({ node, messageId: 'module', data: { source } });
      }
    };
    const nameOf = (id) => id.name ?? id.value;
    // `import { A }` names A in `imported`, `export { A } from` in `local`; default and namespace imports take everything
    const importedNames = (specifiers) =>
      specifiers.map((s) => (s.type === 'ImportSpecifier' ? nameOf(s.imported) : s.type === 'ExportSpecifier' ? nameOf(s.local) : '*'));
    return {
      ImportDeclaration: (node) => check(node, node.source.value, importedNames(node.specifiers)),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value, importedNames(node.specifiers)),
      ExportAllDeclaration: (node) => check(node, node.source.value, ['*']),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value, ['*']),
    };
  },
};

const processorHasQueue = {
  meta: {
    type: 'problem',
    docs: { description: 'every <name>.processor.ts has its <name>.queue.ts beside it (queue name, payload schema, enqueue)' },
    schema: [],
    messages: { missing: "{{processor}} has no {{queue}} beside it: a queue's name, payload schema and enqueue live there" },
  },
  create(context) {
    const file = context.filename ?? context.getFilename();
    const match = /^(.+)\.processor\.ts$/.exec(path.basename(file));
    if (!match) return {};
    const queue = `${match[1]}.queue.ts`;
    return {
      Program(node) {
        if (!existsSync(path.join(path.dirname(file), queue))) {
          context.report({ node, messageId: 'missing', data: { processor: path.basename(file), queue } });
        }
      },
    };
  },
};

export default {
  meta: { name: 'tally' },
  rules: {
    'no-database-client-in-service': noDatabaseClientInService,
    'processor-has-queue': processorHasQueue,
  },
};
