import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, DependencyUnavailableError, ValidationError, badRequest, createLogger } from '@tally/runtime';
import { errorHandler } from './errors.ts';

/** A bare express app whose route throws what the test names, answered by the real error handler. */
const thrown: Record<string, () => unknown> = {
  rebuild_busy: () => new AppError('rebuild_busy', 'balance rebuild still running', { status: 503, retryable: true }),
  provider_unavailable: () => new AppError('provider_unavailable', 'stripe: timeout', { status: 503, retryable: true, retryAfterSeconds: 7 }),
  charge_processing: () => new AppError('charge_processing', 'payment pi_1 is still processing', { status: 503, retryable: true }),
  rate_limited: () => new AppError('rate_limited', 'slow down', { status: 429, retryAfterSeconds: 30 }),
  bad_gateway: () => new AppError('upstream_failed', 'upstream answered 502', { status: 502 }),
  kafka: () => new DependencyUnavailableError('kafka', new Error('broker down')),
  kafka_hinted: () => new DependencyUnavailableError('kafka', new Error('broker down'), 5),
  reused: () => new AppError('idempotency_key_reused', 'used before', { status: 422, details: { reference: 'pur_1' } }),
  bad: () => badRequest('currency_mismatch', 'pack is sold in USD'),
  validation: () => new ValidationError('value: too large', [{ path: 'value', message: 'too large' }]),
  odd_status: () => new AppError('odd', 'status out of range', { status: 700 }),
  unknown: () => new Error('secret connection string in here'),
  type_error: () => new TypeError('cannot read properties of undefined'),
};

let server: Server;
let base = '';

beforeAll(async () => {
  const app = express();
  app.get('/throw/:what', (req) => {
    throw thrown[req.params.what!]!();
  });
  app.get('/param/:id', (_req, res) => {
    res.json({ ok: true });
  });
  app.use(errorHandler(createLogger('test', 'silent')));
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

async function call(path: string) {
  const res = await fetch(base + path);
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { success: boolean; error: Record<string, unknown> } };
}

describe('errors become answers that say whether to retry', () => {
  it.each([
    ['rebuild_busy', 503, 'rebuild_busy', '1'],
    ['provider_unavailable', 503, 'provider_unavailable', '7'],
    ['charge_processing', 503, 'charge_processing', '1'],
    ['rate_limited', 429, 'rate_limited', '30'],
    ['kafka', 503, 'service_unavailable', '1'],
    ['kafka_hinted', 503, 'service_unavailable', '5'],
  ])('%s: its own status and code, with Retry-After', async (what, status, code, retryAfter) => {
    const res = await call(`/throw/${what}`);
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ success: false, error: { code } });
    expect(res.retryAfter).toBe(retryAfter);
  });

  it.each([
    ['bad_gateway', 502, 'upstream_failed'],
    ['reused', 422, 'idempotency_key_reused'],
    ['bad', 400, 'currency_mismatch'],
    ['validation', 400, 'validation_error'],
  ])('%s: its own status and code, no Retry-After (retrying the same request cannot help)', async (what, status, code) => {
    const res = await call(`/throw/${what}`);
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.retryAfter).toBeNull();
  });

  it('keeps details and issues in the answer', async () => {
    expect((await call('/throw/reused')).body.error).toEqual({ code: 'idempotency_key_reused', message: 'used before', reference: 'pur_1' });
    expect((await call('/throw/validation')).body.error.issues).toEqual([{ path: 'value', message: 'too large' }]);
  });

  it('an AppError with a status HTTP has no name is a 500 that keeps its code', async () => {
    const res = await call('/throw/odd_status');
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe('odd');
  });

  it.each(['unknown', 'type_error'])('%s: only what nobody anticipated is a 500 internal_error, its message kept out', async (what) => {
    const res = await call(`/throw/${what}`);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ success: false, error: { code: 'internal_error', message: 'internal error' } });
    expect(res.retryAfter).toBeNull();
  });

  it('a path that is not valid percent-encoding is a 400 saying so', async () => {
    for (const path of ['/param/%E0%A4%A', '/param/%ZZ', '/param/sur%ED%A0%80x']) {
      const res = await call(path);
      expect(res.status, path).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'validation_error', message: 'the path is not valid percent-encoded UTF-8' });
    }
    expect((await call('/param/ok%20id')).status).toBe(200);
  });
});

describe('OpenAPI error codes', () => {
  // importing openapi.ts loads every package's routes and catalogues: seconds on a loaded machine
  it('the Error schema lists the shared error-code registry', { timeout: 60_000 }, async () => {
    const { buildOpenApi } = await import('./openapi.ts');
    const { ERROR_CODES } = await import('@tally/runtime');
    const doc = buildOpenApi([], 'http://x') as { components: { schemas: { Error: Record<string, unknown> } } };
    const listed = doc.components.schemas.Error['x-error-codes'] as Array<{ code: string; status: number; retryable: boolean; meaning: string; declaredBy: string[] }>;
    expect(listed.map(({ declaredBy: _, ...e }) => e)).toEqual(ERROR_CODES.map((e) => ({ ...e })));
    expect(listed.find((e) => e.code === 'purchase_not_found')?.declaredBy).toEqual(['billing']);
    expect(ERROR_CODES.map((e) => e.code)).toContain('service_unavailable');
  });
});
