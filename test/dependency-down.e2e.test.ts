import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort, startApp, type AppProcess } from './support/processes.ts';

/**
 * Each dependency in turn is made unreachable for a dedicated API process (its
 * URL points at a closed port), which is what the API sees when that service
 * is killed, without disturbing the shared services other suites use.
 */
const started: AppProcess[] = [];
afterAll(async () => {
  for (const app of started) await app.stop();
});

describe('a dependency down', () => {
  for (const [dependency, variable, value] of [
    ['redis', 'REDIS_URL', 'redis://127.0.0.1:PORT'],
    ['postgres', 'DATABASE_URL', 'postgres://postgres@127.0.0.1:PORT/tally'],
    ['clickhouse', 'CLICKHOUSE_URL', 'http://127.0.0.1:PORT'],
    ['kafka', 'KAFKA_BROKERS', '127.0.0.1:PORT'],
  ] as const) {
    it(`makes /readyz answer 503 naming ${dependency}`, async () => {
      const dead = String(await freePort());
      const app = await startApp('api', { ...inject('stackEnv'), [variable]: value.replace('PORT', dead) }, 30_000, '/healthz');
      started.push(app);
      const res = await fetch(`${app.url}/readyz`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { ok: boolean; checks: Record<string, { ok: boolean; error?: string }> };
      expect(body.ok).toBe(false);
      expect(body.checks[dependency]?.ok).toBe(false);
      for (const [name, check] of Object.entries(body.checks)) {
        if (name !== dependency) expect(check.ok, `${name} should still be healthy`).toBe(true);
      }
      await app.stop();
    });
  }
});
