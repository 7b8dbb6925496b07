import { describe, expect, inject, it } from 'vitest';
import { opsHeaders } from './support/ops.ts';
import { client } from './support/stack.ts';

describe('operations basics', () => {
  it('reports every dependency ready with its latency', async () => {
    const res = await client(null).get('/readyz', opsHeaders);
    expect(res.status).toBe(200);
    for (const name of ['postgres', 'redis', 'clickhouse', 'kafka']) {
      expect(res.body.checks[name].ok).toBe(true);
      expect(typeof res.body.checks[name].latencyMs).toBe('number');
    }
  });

  it('answers liveness, metrics and a request id on every response', async () => {
    const live = await client(null).get('/healthz');
    expect(live.status).toBe(200);
    expect(live.headers.get('x-request-id')).toMatch(/^[\w-]+$/);
    const metrics = await client(null).get('/metrics', opsHeaders);
    expect(String(metrics.body)).toContain('tally_http_request_duration_seconds');
    const workers = await fetch(`${inject('workersUrl')}/readyz`);
    expect(workers.status).toBe(200);
  });

  it('refuses /v1 without a valid key', async () => {
    const none = await client(null).post('/v1/check', { customer: 'c', feature: 'f' });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthorized');
    const wrong = await client('sk_test_00000000000000000000000000000000').post('/v1/check', { customer: 'c', feature: 'f' });
    expect(wrong.status).toBe(401);
  });
});
