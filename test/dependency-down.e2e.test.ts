import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort, startApp, type AppProcess } from './support/processes.ts';
import { opsHeaders } from './support/ops.ts';
import { client, newTenant } from './support/stack.ts';

/**
 * Each dependency in turn is made unreachable for a dedicated API process (its
 * URL points at a closed port), which is what the API sees when that service
 * is killed, without disturbing the shared services other suites use.
 */
const started: AppProcess[] = [];
afterAll(async () => {
  for (const app of started) await app.stop();
});

// For each dependency: the variable that points at it, and a request whose work needs it.
const cases = [
  ['redis', 'REDIS_URL', 'redis://127.0.0.1:PORT', ['POST', '/v1/check', { customer: 'c1', feature: 'gpt-4' }]],
  ['postgres', 'DATABASE_URL', 'postgres://postgres@127.0.0.1:PORT/tally', ['POST', '/v1/customers', { id: 'c1', email: 'c1@example.com' }]],
  ['clickhouse', 'CLICKHOUSE_URL', 'http://127.0.0.1:PORT', ['GET', '/v1/usage?groupBy=customer', undefined]],
  ['kafka', 'KAFKA_BROKERS', '127.0.0.1:PORT', ['POST', '/v1/track', { id: 'e1', customer: 'c1', feature: 'gpt-4' }]],
] as const;

describe('a dependency down', () => {
  for (const [dependency, variable, value, [method, path, payload]] of cases) {
    it(`makes /readyz answer 503 naming ${dependency}, and ${method} ${path.split('?')[0]} answer 503`, async () => {
      const tenant = await newTenant('dependency-down');
      // A customer on a plan, so each request gets as far as the dependency it needs.
      const setup = client(tenant.apiKey.secret);
      const synced = await setup.post('/v1/sync', {
        features: [{ slug: 'gpt-4', type: 'metered', name: 'GPT-4' }],
        creditSystems: [],
        creditPacks: [],
        plans: [
          { slug: 'free', name: 'Free', price: 0, currency: 'USD', interval: 'monthly',
            features: [{ slug: 'gpt-4', enabled: true, limit: 10, reset: 'monthly' }] },
        ],
      });
      expect(synced.status).toBe(200);
      expect((await setup.post('/v1/customers', { id: 'c1', email: 'c1@example.com' })).status).toBe(200);
      expect((await setup.post('/v1/attach', { customer: 'c1', product: 'free' })).status).toBe(200);
      const dead = String(await freePort());
      const app = await startApp('api', { ...inject('stackEnv'), [variable]: value.replace('PORT', dead) }, 30_000, '/healthz');
      started.push(app);
      const res = await fetch(`${app.url}/readyz`, { headers: opsHeaders });
      expect(res.status).toBe(503);
      const body = (await res.json()) as { ok: boolean; checks: Record<string, { ok: boolean; error?: string }> };
      expect(body.ok).toBe(false);
      expect(body.checks[dependency]?.ok).toBe(false);
      for (const [name, check] of Object.entries(body.checks)) {
        if (name !== dependency) expect(check.ok, `${name} should still be healthy`).toBe(true);
      }

      const api = client(tenant.apiKey.secret, app.url);
      const work = method === 'GET' ? await api.get(path) : await api.post(path, payload);
      expect(work.status, JSON.stringify(work.body)).toBe(503);
      expect(work.body.error.code).toBe('service_unavailable');
      expect(work.headers.get('retry-after')).toBeTruthy();
      await app.stop();
    });
  }
});
