/**
 * Dashboard sessions (docs/dashboard.md "Sessions and security"): a secret key is exchanged for an
 * httpOnly SameSite=Strict cookie whose token is random and stored only as its SHA-256; the cookie
 * acts on /v1 as the key did, writes need the CSRF token and the API's own Origin; sign-out, a
 * revoked key and expiry end it; one tenant's session sees nothing of another's.
 */
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from '@tally/postgres';
import { TenantService } from '@tally/catalog';
import { apiUrl, client, config, newTenant } from './support/stack.ts';
import { signIn, withCookie } from './dashboard-session.support.ts';

const pool = createPool(config.DATABASE_URL, 2);
afterAll(() => pool.end());

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const sessionRow = async (token: string) =>
  (await pool.query<{ id: string; tenant_id: string; api_key_id: string; expires_at: Date; revoked_at: Date | null; created_at: Date }>(
    'SELECT id, tenant_id, api_key_id, expires_at, revoked_at, created_at FROM dashboard_sessions WHERE token_hash = $1',
    [sha256(token)],
  )).rows[0];

describe('dashboard sessions', () => {
  it('sign-in sets an httpOnly SameSite=Strict cookie of a random token stored only as its SHA-256', { timeout: 60_000 }, async () => {
    const tenant = await newTenant('dash-session');
    const before = Date.now();
    const s = await signIn(tenant.apiKey.secret);
    expect(s.status, JSON.stringify(s.body)).toBe(200);
    expect(s.body).toMatchObject({ tenant: { id: tenant.tenantId, environment: 'test' } });
    expect(typeof s.csrfToken).toBe('string');
    expect(s.csrfToken.length).toBeGreaterThanOrEqual(32);
    expect(JSON.stringify(s.body)).not.toContain(tenant.apiKey.secret);

    expect(s.setCookie).toHaveLength(1);
    const flags = s.setCookie[0]!.split(';').map((p) => p.trim());
    expect(flags).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=28800']));
    expect(flags).not.toContain('Secure'); // PUBLIC_URL is http here
    // 32 random bytes, base64url
    expect(s.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(s.token, 'base64url')).toHaveLength(32);
    expect(s.token).not.toBe(s.csrfToken);

    const row = await sessionRow(s.token);
    expect(row, 'the row is found by the SHA-256 of the token').toBeDefined();
    expect(row).toMatchObject({ tenant_id: tenant.tenantId, api_key_id: tenant.apiKey.id, revoked_at: null });
    const ttlMs = row!.expires_at.getTime() - row!.created_at.getTime();
    expect(Math.abs(ttlMs - 28_800_000)).toBeLessThan(2_000);
    expect(row!.created_at.getTime()).toBeGreaterThan(before - 60_000);
    // nothing in the table holds the token or the key in the clear
    const dump = JSON.stringify((await pool.query('SELECT * FROM dashboard_sessions WHERE tenant_id = $1', [tenant.tenantId])).rows);
    expect(dump).not.toContain(s.token);
    expect(dump).not.toContain(tenant.apiKey.secret);
    expect(dump).not.toContain(s.token.slice(0, 16));

    // GET answers the same tenant and CSRF token again; a second sign-in is a different token
    const again = await withCookie(s.cookie, 'GET', '/dashboard/api/session');
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ tenant: { id: tenant.tenantId, environment: 'test' }, csrfToken: s.csrfToken });
    expect(again.headers.get('cache-control')).toBe('no-store');
    const other = await signIn(tenant.apiKey.secret);
    expect(other.token).not.toBe(s.token);
    expect(other.csrfToken).not.toBe(s.csrfToken);
  });

  it('a live key opens its live tenant', { timeout: 60_000 }, async () => {
    const tenants = new TenantService(pool);
    const live = await tenants.createTenant(`dash-live-${Date.now()}`, 'live');
    const s = await signIn(live.apiKey.secret);
    expect(s.status).toBe(200);
    expect(s.body.tenant).toEqual({ id: live.tenantId, environment: 'live' });
  });

  it('a bad key, no key or a malformed body is refused with no cookie', { timeout: 60_000 }, async () => {
    const tenant = await newTenant('dash-bad');
    const wrong = `sk_test_${'A'.repeat(32)}`;
    for (const key of [wrong, tenant.apiKey.secret.slice(0, -1) + 'x', 'nonsense']) {
      const s = await signIn(key);
      expect(s.status).toBe(401);
      expect(s.body.error.code).toBe('unauthorized');
      expect(s.setCookie).toEqual([]);
      expect(JSON.stringify(s.body)).not.toContain(key);
    }
    for (const key of ['', 42, null]) {
      const s = await signIn(key);
      expect(s.status).toBe(400);
      expect(s.body.error.code).toBe('validation_error');
      expect(s.setCookie).toEqual([]);
    }
    // from another site's page: refused before the key is looked at
    const cross = await signIn(tenant.apiKey.secret, apiUrl(), { Origin: 'https://evil.example' });
    expect(cross.status).toBe(403);
    expect(cross.body.error.code).toBe('origin_not_allowed');
    expect(cross.setCookie).toEqual([]);
    expect((await withCookie('tally_session=' + 'x'.repeat(43), 'GET', '/dashboard/api/session')).status).toBe(401);
    expect((await fetch(`${apiUrl()}/dashboard/api/session`)).status).toBe(401);
  });

  it('the cookie acts as the key on /v1; writes need the CSRF token and the own Origin; bearer keys are unchanged', { timeout: 60_000 }, async () => {
    const tenant = await newTenant('dash-csrf');
    const s = await signIn(tenant.apiKey.secret);
    const keyCount = async () => (await pool.query('SELECT count(*)::int AS n FROM api_keys WHERE tenant_id = $1', [tenant.tenantId])).rows[0].n;
    expect(await keyCount()).toBe(1);

    const read = await withCookie(s.cookie, 'GET', '/v1/api-keys');
    expect(read.status).toBe(200);
    expect(read.body.apiKeys.map((k: { id: string; current: boolean }) => [k.id, k.current])).toEqual([[tenant.apiKey.id, true]]);

    // no CSRF header, a wrong one, the session token itself: 403 and nothing created
    for (const headers of [{}, { 'X-CSRF-Token': 'nope' }, { 'X-CSRF-Token': s.token }, { 'X-CSRF-Token': s.csrfToken.slice(0, -1) }]) {
      const refused = await withCookie(s.cookie, 'POST', '/v1/api-keys', { name: 'from-dashboard' }, headers);
      expect(refused.status, JSON.stringify(headers)).toBe(403);
      expect(refused.body.error.code).toBe('csrf_token_invalid');
    }
    const crossSite = await withCookie(s.cookie, 'POST', '/v1/api-keys', { name: 'from-dashboard' }, { 'X-CSRF-Token': s.csrfToken, Origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    expect(crossSite.body.error.code).toBe('origin_not_allowed');
    expect(await keyCount()).toBe(1);

    const made = await withCookie(s.cookie, 'POST', '/v1/api-keys', { name: 'from-dashboard' }, { 'X-CSRF-Token': s.csrfToken, Origin: apiUrl() });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(await keyCount()).toBe(2);
    // the session acts as the key that opened it: it cannot revoke that key (409), like the key itself
    const self = await withCookie(s.cookie, 'DELETE', `/v1/api-keys/${tenant.apiKey.id}`, undefined, { 'X-CSRF-Token': s.csrfToken });
    expect(self.status).toBe(409);

    // no key and no cookie, or an unknown cookie: 401 on every /v1 route
    for (const path of ['/v1/api-keys', '/v1/customers', '/v1/plans', '/v1/usage']) {
      expect((await client(null).get(path)).status, path).toBe(401);
      expect((await withCookie('tally_session=' + 'A'.repeat(43), 'GET', path)).status, path).toBe(401);
    }
    // a Bearer key wins over a cookie, and needs no CSRF header (unchanged behaviour)
    const bearer = await client(tenant.apiKey.secret).post('/v1/api-keys', { name: 'by-key' }, { Cookie: 'tally_session=' + 'A'.repeat(43) });
    expect(bearer.status).toBe(201);
  });

  it("one tenant's session sees nothing of another tenant", { timeout: 60_000 }, async () => {
    const a = await newTenant('dash-iso-a');
    const b = await newTenant('dash-iso-b');
    const bKey = client(b.apiKey.secret);
    const id = `iso-${Date.now()}`;
    expect((await bKey.post('/v1/customers', { id: `${id}-b`, name: 'Only B' })).status).toBe(200);
    expect((await client(a.apiKey.secret).post('/v1/customers', { id: `${id}-a`, name: 'Only A' })).status).toBe(200);
    const sa = await signIn(a.apiKey.secret);

    expect((await withCookie(sa.cookie, 'GET', `/v1/customers/${id}-b`)).status).toBe(404);
    expect((await withCookie(sa.cookie, 'GET', `/v1/customers/${id}-b/balances`)).status).toBe(404);
    const list = await withCookie(sa.cookie, 'GET', `/v1/customers?search=${id}`);
    expect(list.status).toBe(200);
    expect(list.body.data.map((c: { id: string }) => c.id)).toEqual([`${id}-a`]);
    const keys = await withCookie(sa.cookie, 'GET', '/v1/api-keys');
    expect(keys.body.apiKeys.map((k: { id: string }) => k.id)).toEqual([a.apiKey.id]);
    // a write through A's session lands in A only, and cannot touch B's keys
    const revokeB = await withCookie(sa.cookie, 'DELETE', `/v1/api-keys/${b.apiKey.id}`, undefined, { 'X-CSRF-Token': sa.csrfToken });
    expect(revokeB.status).toBe(404);
    expect((await bKey.get('/v1/api-keys')).status).toBe(200);
    // A's CSRF token is worthless with B's session
    const sb = await signIn(b.apiKey.secret);
    const mixed = await withCookie(sb.cookie, 'POST', '/v1/api-keys', { name: 'x' }, { 'X-CSRF-Token': sa.csrfToken });
    expect(mixed.status).toBe(403);
  });

  it('sign-out needs the CSRF token, clears the cookie and ends the session everywhere', { timeout: 60_000 }, async () => {
    const tenant = await newTenant('dash-signout');
    const s = await signIn(tenant.apiKey.secret);
    expect((await withCookie(s.cookie, 'DELETE', '/dashboard/api/session')).status).toBe(403);
    const crossSite = await withCookie(s.cookie, 'DELETE', '/dashboard/api/session', undefined, { 'X-CSRF-Token': s.csrfToken, Origin: 'http://evil.example' });
    expect(crossSite.status).toBe(403);
    expect((await withCookie(s.cookie, 'GET', '/v1/customers')).status).toBe(200);

    const out = await fetch(`${apiUrl()}/dashboard/api/session`, { method: 'DELETE', headers: { Cookie: s.cookie, 'X-CSRF-Token': s.csrfToken } });
    expect(out.status).toBe(204);
    const cleared = out.headers.getSetCookie();
    expect(cleared).toHaveLength(1);
    expect(cleared[0]).toMatch(/^tally_session=;/);
    expect(cleared[0]).toContain('Max-Age=0');
    expect((await sessionRow(s.token))?.revoked_at ?? 'deleted').not.toBeNull();

    expect((await withCookie(s.cookie, 'GET', '/v1/customers')).status).toBe(401);
    expect((await withCookie(s.cookie, 'GET', '/dashboard/api/session')).status).toBe(401);
    // the key itself still works
    expect((await client(tenant.apiKey.secret).get('/v1/customers')).status).toBe(200);
  });

  it('revoking the key that opened a session ends it at once', { timeout: 60_000 }, async () => {
    const tenant = await newTenant('dash-revoke');
    const owner = client(tenant.apiKey.secret);
    const second = await owner.post('/v1/api-keys', { name: 'operator' });
    expect(second.status).toBe(201);
    const s = await signIn(second.body.apiKey.secret);
    const kept = await signIn(tenant.apiKey.secret);
    expect((await withCookie(s.cookie, 'GET', '/v1/customers')).status).toBe(200);

    expect((await owner.del(`/v1/api-keys/${second.body.apiKey.id}`)).status).toBe(200);
    expect((await withCookie(s.cookie, 'GET', '/v1/customers')).status).toBe(401);
    expect((await withCookie(s.cookie, 'GET', '/dashboard/api/session')).status).toBe(401);
    expect(await sessionRow(s.token)).toBeUndefined(); // swept when seen
    // a session of another key of the same tenant goes on
    expect((await withCookie(kept.cookie, 'GET', '/v1/customers')).status).toBe(200);
    // and the revoked key cannot open a new one
    expect((await signIn(second.body.apiKey.secret)).status).toBe(401);
  });

  it('an expired session is refused and swept', { timeout: 60_000 }, async () => {
    const tenant = await newTenant('dash-expiry');
    const s = await signIn(tenant.apiKey.secret);
    const other = await signIn(tenant.apiKey.secret);
    expect((await withCookie(s.cookie, 'GET', '/v1/customers')).status).toBe(200);
    // the clock passing the TTL, as the database sees it
    await pool.query("UPDATE dashboard_sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1", [sha256(s.token)]);
    expect((await withCookie(s.cookie, 'GET', '/v1/customers')).status).toBe(401);
    expect((await withCookie(s.cookie, 'GET', '/dashboard/api/session')).status).toBe(401);
    expect(await sessionRow(s.token)).toBeUndefined();
    expect((await withCookie(other.cookie, 'GET', '/v1/customers')).status).toBe(200);

    // ended sessions never seen again are deleted by the sweep at the next sign-in
    const third = await signIn(tenant.apiKey.secret);
    await pool.query("UPDATE dashboard_sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1", [sha256(third.token)]);
    await signIn(tenant.apiKey.secret);
    await expect.poll(async () => sessionRow(third.token), { timeout: 5_000 }).toBeUndefined();
  });
});
