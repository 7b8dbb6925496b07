import { defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript sources under the "tally-source" condition and their build
// (dist/*.js) otherwise; tests always run the sources. The processes tests start (API, workers, CLIs through
// tsx or `npx tally`) inherit NODE_OPTIONS, so they resolve the sources too and never a stale dist/.
const SOURCE_CONDITION = 'tally-source';
if (!(process.env.NODE_OPTIONS ?? '').includes(`--conditions=${SOURCE_CONDITION}`)) {
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --conditions=${SOURCE_CONDITION}`.trim();
}
const conditions = [SOURCE_CONDITION, 'module', 'node', 'development|production'];
const resolve = { conditions };
const ssr = { resolve: { conditions, externalConditions: [SOURCE_CONDITION] } };

// Three suites: unit (pure, next to the code), integration (adapters and
// services against the real Redis, Postgres, ClickHouse and Kafka started by
// deploy/local), e2e (the whole stack over HTTP, in test/).
export default defineConfig({
  test: {
    projects: [
      {
        resolve,
        ssr,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'tools/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
        },
      },
      {
        resolve,
        ssr,
        test: {
          name: 'integration',
          include: ['packages/*/src/**/*.int.test.ts', 'apps/*/src/**/*.int.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        resolve,
        ssr,
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
