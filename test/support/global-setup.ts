import { randomUUID } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { METRICS_TOKEN } from './ops.ts';
import { startApp, type AppProcess } from './processes.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    apiUrl: string;
    workersUrl: string;
    stackEnv: Record<string, string>;
  }
}

/**
 * One API and one workers process for the whole e2e run. Each run gets its own
 * Kafka topic and consumer group, so concurrent runs on one machine never
 * consume each other's events. Suites that kill processes start their own
 * with the same env (inject('stackEnv')).
 */
export default async function setup(project: TestProject) {
  const run = randomUUID().slice(0, 8);
  const stackEnv: Record<string, string> = {
    KAFKA_TOPIC_EVENTS: `tally.usage-events.test-${run}`,
    KAFKA_CONSUMER_GROUP: `tally-metering-test-${run}`,
    NODE_ENV: 'test',
    METRICS_TOKEN,
    // every suite calls from 127.0.0.1, several with refused keys on purpose: a per-address
    // limit of 20 a minute would turn their 401s into 429s (test/security-edge tests the limit)
    AUTH_FAILURES_PER_MINUTE: '100000',
    // suites receive webhooks on local http servers (127.0.0.1): allowed for the test stack only,
    // never by default (test/security-webhook-targets starts processes without these)
    WEBHOOK_ALLOW_HTTP: 'true',
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
  };
  const apps: AppProcess[] = [];
  const migrate = await import('node:child_process').then(({ execFileSync }) =>
    execFileSync(process.execPath, ['--import', 'tsx', 'apps/api/src/cli/migrate.ts'], {
      env: { ...process.env, ...stackEnv },
      encoding: 'utf8',
    }),
  );
  void migrate;
  const api = await startApp('api', stackEnv);
  apps.push(api);
  const workers = await startApp('workers', { ...stackEnv, PUBLIC_URL: api.url });
  apps.push(workers);
  project.provide('apiUrl', api.url);
  project.provide('workersUrl', workers.url);
  project.provide('stackEnv', { ...stackEnv, PUBLIC_URL: api.url });
  return async () => {
    for (const app of apps.reverse()) await app.stop();
  };
}
