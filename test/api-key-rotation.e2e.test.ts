/**
 * Rotating a key: the new key works at once, the old one keeps working for
 * the overlap window (also from the cache that just authenticated it) and is
 * refused after it; overlap 0 revokes at once; another tenant cannot rotate.
 */
import { describe, expect, it } from 'vitest';
import { client, eventually, newTenant } from './support/stack.ts';

describe('POST /v1/api-keys/:id/rotate', () => {
  it('the old key works through the overlap window and is refused after it', { timeout: 60_000 }, async () => {
    const tenant = await newTenant('rotation');
    const old = client(tenant.apiKey.secret);
    expect((await old.get('/v1/api-keys')).status).toBe(200); // cached as valid on the API now
    const before = Date.now();
    const res = await old.post(`/v1/api-keys/${tenant.apiKey.id}/rotate`, { overlapSeconds: 3 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.rotated).toMatchObject({ id: tenant.apiKey.id, revokedAt: null, tenantId: tenant.tenantId, environment: 'test', current: true });
    const expiresAt = Date.parse(res.body.rotated.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 2_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 4_000);
    expect(res.body.apiKey).toMatchObject({ tenantId: tenant.tenantId, environment: 'test', expiresAt: null, revokedAt: null });
    expect(res.body.apiKey.secret).not.toBe(tenant.apiKey.secret);
    const fresh = client(res.body.apiKey.secret);

    if (Date.now() < expiresAt - 500) expect((await old.get('/v1/api-keys')).status).toBe(200);
    const listed = await fresh.get('/v1/api-keys');
    expect(listed.body.apiKeys.map((k: { id: string }) => k.id).sort()).toEqual([tenant.apiKey.id, res.body.apiKey.id].sort());

    await eventually(async () => (await old.get('/v1/api-keys')).status === 401, 10_000, 200);
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
    expect((await fresh.get('/v1/api-keys')).status).toBe(200);

    // An expired key cannot be rotated again (nor is a rotated one rotated twice).
    const again = await fresh.post(`/v1/api-keys/${tenant.apiKey.id}/rotate`, {});
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('api_key_not_rotatable');
  });

  it('overlap 0 revokes at once; another tenant gets 404; bad input is a 400 naming the field', { timeout: 60_000 }, async () => {
    const tenant = await newTenant('rotation');
    const other = await newTenant('rotation-other');
    const api = client(tenant.apiKey.secret);
    const created = await api.post('/v1/api-keys', { name: 'deploy' });
    expect(created.status).toBe(201);
    const deploy = client(created.body.apiKey.secret);
    expect((await deploy.get('/v1/api-keys')).status).toBe(200);

    const stranger = await client(other.apiKey.secret).post(`/v1/api-keys/${created.body.apiKey.id}/rotate`, { overlapSeconds: 0 });
    expect(stranger.status).toBe(404);
    expect((await deploy.get('/v1/api-keys')).status).toBe(200);

    for (const [body, field] of [[{ overlapSeconds: -1 }, 'overlapSeconds'], [{ overlapSeconds: 604_801 }, 'overlapSeconds'], [{ overlapSeconds: 1.5 }, 'overlapSeconds'], [{ other: 1 }, '']] as const) {
      const bad = await api.post(`/v1/api-keys/${created.body.apiKey.id}/rotate`, body);
      expect(bad.status, JSON.stringify(bad.body)).toBe(400);
      if (field) expect(JSON.stringify(bad.body.error.issues)).toContain(field);
    }
    expect((await api.post('/v1/api-keys/not-a-uuid/rotate', {})).status).toBe(400);
    expect((await deploy.get('/v1/api-keys')).status).toBe(200); // nothing changed by the refused calls

    const now = await api.post(`/v1/api-keys/${created.body.apiKey.id}/rotate`, { overlapSeconds: 0 });
    expect(now.status, JSON.stringify(now.body)).toBe(200);
    expect(now.body.rotated.revokedAt).not.toBeNull();
    expect(now.body.apiKey.name).toBe('deploy');
    expect((await deploy.get('/v1/api-keys')).status).toBe(401);
    expect((await client(now.body.apiKey.secret).get('/v1/api-keys')).status).toBe(200);
  });
});
