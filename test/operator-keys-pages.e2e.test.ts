/**
 * Issue 15, "pagination everywhere a list can grow": GET /v1/api-keys keeps
 * revoked and rotated keys, so it grows with every rotation. It pages newest
 * first on (created_at µs, id) like the other operator lists; `apiKeys`
 * repeats `data` for clients written before pages.
 */
import { describe, expect, it } from 'vitest';
import { keysMain } from '@tally/sdk';
import { apiUrl, client, newTenant } from './support/stack.ts';

type Key = { id: string; createdAt: string; revokedAt: string | null; current: boolean; tenantId: string; environment: string };

describe('GET /v1/api-keys pages', () => {
  it('walks every key once, newest first, revoked and rotated ones included; bad cursors and limits are 400s', { timeout: 60_000 }, async () => {
    const tenant = await newTenant('op-keys-pages');
    const api = client(tenant.apiKey.secret);
    // created concurrently: several share a created_at millisecond, which the keyset must still order
    const made = await Promise.all(Array.from({ length: 6 }, (_, i) => api.post('/v1/api-keys', { name: `k${i}` })));
    for (const m of made) expect(m.status, JSON.stringify(m.body)).toBe(201);
    const rotated = await api.post(`/v1/api-keys/${made[0]!.body.apiKey.id}/rotate`, { overlapSeconds: 60 });
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    expect((await api.del(`/v1/api-keys/${made[1]!.body.apiKey.id}`)).status).toBe(200);
    // the model: every key this tenant ever had (the first, six made, one from the rotation)
    const all = [tenant.apiKey.id, ...made.map((m) => m.body.apiKey.id as string), rotated.body.apiKey.id as string];

    const seen: Key[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await api.get(`/v1/api-keys?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.apiKeys).toEqual(res.body.data);
      expect(res.body.hasMore).toBe(res.body.nextCursor !== null);
      if (res.body.hasMore) expect(res.body.data).toHaveLength(3);
      seen.push(...res.body.data);
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen.map((k) => k.id).sort()).toEqual([...all].sort());
    expect(new Set(seen.map((k) => k.id)).size).toBe(all.length);
    // newest first: createdAt never increases along the walk
    for (let i = 1; i < seen.length; i++) expect(Date.parse(seen[i]!.createdAt)).toBeLessThanOrEqual(Date.parse(seen[i - 1]!.createdAt));
    expect(seen.find((k) => k.id === made[1]!.body.apiKey.id)!.revokedAt).not.toBeNull();
    expect(seen.filter((k) => k.current).map((k) => k.id)).toEqual([tenant.apiKey.id]);
    for (const k of seen) expect(k).toMatchObject({ tenantId: tenant.tenantId, environment: 'test' });

    // the default page holds them all (100)
    const whole = await api.get('/v1/api-keys');
    expect(whole.body.data).toHaveLength(all.length);
    expect(whole.body).toMatchObject({ hasMore: false, nextCursor: null });

    const first = await api.get('/v1/api-keys?limit=3');
    for (const q of ['cursor=%%%', 'cursor=eyJ4IjoxfQ', 'limit=0', 'limit=101', 'status=revoked']) {
      const res = await api.get(`/v1/api-keys?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.error.code, q).toBe('validation_error');
      expect(JSON.stringify(res.body.error), q).toContain(q.split('=')[0]!);
    }
    // another tenant with this tenant's cursor: only its own keys, never these
    const other = await newTenant('op-keys-pages-other');
    const foreign = await client(other.apiKey.secret).get(`/v1/api-keys?cursor=${first.body.nextCursor}`);
    expect(foreign.status).toBe(200);
    for (const id of all) expect(JSON.stringify(foreign.body)).not.toContain(id);

    // tally keys list --all: every key, one line each
    const out: string[] = [];
    const code = await keysMain(['list', '--all'], { TALLY_API_KEY: tenant.apiKey.secret, TALLY_API_URL: apiUrl() }, { out: (l) => out.push(l), err: (l) => out.push(l) });
    expect(code).toBe(0);
    expect(out.join('\n').split('\n').map((l) => l.split('  ')[0]).sort()).toEqual([...all].sort());
  });
});
