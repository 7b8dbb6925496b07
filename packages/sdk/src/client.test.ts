import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Tally, retryAfterMs } from './client.ts';
import { TallyError } from './errors.ts';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: { id?: string; events?: { id: string }[] } & Record<string, unknown>;
  at: number;
}

/** A throwaway HTTP server answering with `replies` in order, recording every request. */
async function serve(replies: { status: number; body: unknown; headers?: Record<string, string> }[]) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: raw ? JSON.parse(raw) : undefined, at: Date.now() });
      const reply = replies[Math.min(seen.length - 1, replies.length - 1)]!;
      res.writeHead(reply.status, { 'Content-Type': 'application/json', ...reply.headers });
      res.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}
const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

const unavailable = { status: 503, body: { success: false, error: { code: 'service_unavailable', message: 'kafka is unavailable' } }, headers: { 'Retry-After': '0' } };

describe('Tally client', () => {
  it('retries a 503 and reuses the event id it generated, so a retry is never a second event', async () => {
    const ok = { status: 200, body: { success: true, code: 'tracked', id: 'x' } };
    const { url, seen } = await serve([unavailable, unavailable, ok]);
    const tally = new Tally({ apiKey: 'sk_test_x', apiUrl: url, backoffMs: 1 });
    await tally.track({ customer: 'c', feature: 'gpt-4' });
    expect(seen).toHaveLength(3);
    const ids = seen.map((s) => s.body.id);
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(ids).size).toBe(1);
    expect(seen[0]!.headers.authorization).toBe('Bearer sk_test_x');
    expect(seen[0]!.url).toBe('/v1/track');
  });

  it('gives every batch event an id once and keeps the ids across retries', async () => {
    const { url, seen } = await serve([unavailable, { status: 200, body: { success: true, results: [] } }]);
    const tally = new Tally({ apiKey: 'k', apiUrl: url, backoffMs: 1 });
    await tally.trackBatch([{ customer: 'c', feature: 'f' }, { id: 'mine', customer: 'c', feature: 'f' }]);
    expect(seen[0]!.body.events!.map((e) => e.id)).toEqual(seen[1]!.body.events!.map((e) => e.id));
    expect(seen[0]!.body.events![1]!.id).toBe('mine');
  });

  it('keeps the Idempotency-Key of an addon across retries', async () => {
    const { url, seen } = await serve([unavailable, { status: 200, body: { success: true, requiresCheckout: true } }]);
    await new Tally({ apiKey: 'k', apiUrl: url, backoffMs: 1 }).addon({ customer: 'c', pack: 'p' });
    expect(seen[0]!.headers['idempotency-key']).toBeTruthy();
    expect(seen[1]!.headers['idempotency-key']).toBe(seen[0]!.headers['idempotency-key']);
  });

  it('surfaces server errors as a typed TallyError with code, message, status and issues', async () => {
    const { url, seen } = await serve([
      { status: 400, body: { success: false, error: { code: 'validation_error', message: 'email: Invalid email address', issues: [{ path: 'email', message: 'Invalid email address' }] } } },
    ]);
    const err = await new Tally({ apiKey: 'k', apiUrl: url }).customer({ email: 'nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TallyError);
    expect(err).toMatchObject({ code: 'validation_error', status: 400, message: 'email: Invalid email address', issues: [{ path: 'email' }] });
    expect(seen).toHaveLength(1); // 4xx is not retried
  });

  it('gives up after the configured retries with the last 503 as the error', async () => {
    const { url, seen } = await serve([unavailable]);
    const err = await new Tally({ apiKey: 'k', apiUrl: url, retries: 2, backoffMs: 1 }).check({ customer: 'c', feature: 'f' }).catch((e: unknown) => e);
    expect(seen).toHaveLength(3);
    expect(err).toMatchObject({ code: 'service_unavailable', status: 503 });
  });

  it('retries network errors and then reports network_error', async () => {
    const { url } = await serve([]);
    await new Promise((r) => servers.pop()!.close(r)); // nothing listens there any more
    const err = await new Tally({ apiKey: 'k', apiUrl: url, retries: 1, backoffMs: 1 }).plans().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'network_error', status: 0 });
  });

  it('sync sends DSL items as a sync body and diff as a dry run', async () => {
    const { url, seen } = await serve([{ status: 200, body: { success: true } }]);
    const { metered } = await import('./dsl.ts');
    await new Tally({ apiKey: 'k', apiUrl: url }).sync([metered('gpt-4')], { dryRun: true });
    expect(seen[0]!.url).toBe('/v1/sync?dryRun=true');
    expect(seen[0]!.body).toEqual({ features: [{ slug: 'gpt-4', type: 'metered' }], creditSystems: [], creditPacks: [], plans: [] });
  });
});

describe('Tally client retry policy: exactly 503, 429 and network errors', () => {
  const ok = { status: 200, body: { success: true, plans: [] } };
  const error = (status: number, code: string) => ({ status, body: { success: false, error: { code, message: code } }, headers: { 'Retry-After': '0' } });

  it.each([
    [400, 'validation_error'],
    [401, 'unauthorized'],
    [404, 'customer_not_found'],
    [409, 'conflict'],
    [422, 'idempotency_key_reused'],
    [500, 'internal_error'],
    [502, 'bad_gateway'],
    [504, 'gateway_timeout'],
  ])('%i is answered at once, never retried (even with Retry-After)', async (status, code) => {
    const { url, seen } = await serve([error(status, code), ok]);
    const err = await new Tally({ apiKey: 'k', apiUrl: url, backoffMs: 1 }).plans().catch((e: unknown) => e);
    expect(err).toMatchObject({ code, status });
    expect(seen).toHaveLength(1);
  });

  it('429 is retried like 503, with the same event id', async () => {
    const { url, seen } = await serve([error(429, 'rate_limited'), error(503, 'rebuild_busy'), { status: 200, body: { success: true, code: 'tracked', id: 'x' } }]);
    await new Tally({ apiKey: 'k', apiUrl: url, backoffMs: 1 }).track({ customer: 'c', feature: 'f' });
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((s) => s.body.id)).size).toBe(1);
  });

  it('waits at least the Retry-After the server names, even when its own backoff is shorter', async () => {
    const { url, seen } = await serve([{ ...error(429, 'rate_limited'), headers: { 'Retry-After': '1' } }, ok]);
    await new Tally({ apiKey: 'k', apiUrl: url, backoffMs: 1 }).plans();
    expect(seen).toHaveLength(2);
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('without Retry-After it backs off exponentially from backoffMs', async () => {
    const bare = { status: 503, body: { success: false, error: { code: 'state_unavailable', message: 'x' } } };
    const { url, seen } = await serve([bare, bare, ok]);
    await new Tally({ apiKey: 'k', apiUrl: url, backoffMs: 200 }).plans();
    expect(seen).toHaveLength(3);
    // jitter keeps each wait within [exp/2, exp]: >= 100 ms, then >= 200 ms
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(95);
    expect(seen[2]!.at - seen[1]!.at).toBeGreaterThanOrEqual(195);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-12-02T10:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs(' 0 ', now)).toBe(0);
    expect(retryAfterMs('Wed, 02 Dec 2026 10:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('Wed, 02 Dec 2026 09:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs(null, now)).toBeNull();
  });
});

describe('Tally client retry policy: calls not safe to repeat', () => {
  const limited = { status: 429, body: { success: false, error: { code: 'rate_limited', message: 'over the limit' } }, headers: { 'Retry-After': '0' } };
  const attached = { status: 200, body: { success: true } };

  it('attach retries a 429 (nothing was done) but not a 503 (it may have been)', async () => {
    const once429 = await serve([limited, attached]);
    await new Tally({ apiKey: 'sk_test_x', apiUrl: once429.url, backoffMs: 1 }).attach({ customer: 'c1', product: 'pro' } as never);
    expect(once429.seen.length).toBe(2);

    const once503 = await serve([unavailable, attached]);
    await expect(new Tally({ apiKey: 'sk_test_x', apiUrl: once503.url, backoffMs: 1 }).attach({ customer: 'c1', product: 'pro' } as never)).rejects.toMatchObject({ status: 503 });
    expect(once503.seen.length).toBe(1);
  });

  it('rotateApiKey is not repeated after a 503', async () => {
    const s = await serve([unavailable, attached]);
    await expect(new Tally({ apiKey: 'sk_test_x', apiUrl: s.url, backoffMs: 1 }).rotateApiKey('key_1')).rejects.toBeInstanceOf(TallyError);
    expect(s.seen.length).toBe(1);
  });
});
