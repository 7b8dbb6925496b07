import { describe, expect, it } from 'vitest';
import { metricsRefusal, opsAccess, readinessView } from './ops-access.ts';

const TOKEN = 'metrics-token-0123456789';

describe('operator endpoints', () => {
  it('open only with the bearer token, and are off without one configured', () => {
    expect(opsAccess(`Bearer ${TOKEN}`, TOKEN)).toBe('granted');
    expect(opsAccess(`bearer ${TOKEN}`, TOKEN)).toBe('granted');
    expect(opsAccess(undefined, TOKEN)).toBe('denied');
    expect(opsAccess(`Bearer ${TOKEN}x`, TOKEN)).toBe('denied');
    expect(opsAccess(TOKEN, TOKEN)).toBe('denied');
    expect(opsAccess(`Bearer ${TOKEN}`, undefined)).toBe('off');
    expect(metricsRefusal('off').status).toBe(404);
    expect(metricsRefusal('denied').status).toBe(401);
  });

  it('show readiness details to the operator and the verdict alone to anyone else', () => {
    const readiness = { ok: false, checks: { redis: { ok: false, latencyMs: 2, error: 'connect ECONNREFUSED 10.0.0.5:6379' } } };
    expect(readinessView(readiness, 'granted')).toEqual(readiness);
    expect(readinessView(readiness, 'denied')).toEqual({ ok: false });
    expect(readinessView(readiness, 'off')).toEqual({ ok: false });
  });
});
