/**
 * /dashboard serves the built app (here a fixture build in a temp dir, DASHBOARD_DIST_DIR) with the
 * CSP and security headers, index.html for the app's own paths, year-long caching for hashed
 * assets only, and a 503 naming the build command without a build. The same API logs every
 * request (LOG_LEVEL=debug) and never the key, the session token or the CSRF token.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApp, type AppProcess } from './support/processes.ts';
import { eventually, newTenant } from './support/stack.ts';
import { signIn, withCookie } from './dashboard-session.support.ts';

const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const INDEX = '<!doctype html><html><head><title>Tally fixture</title><script type="module" src="/dashboard/assets/app-3f9a1c.js"></script></head><body><div id="root"></div></body></html>';
const SCRIPT = 'console.log("fixture");';

let dist: string;
let api: AppProcess;

beforeAll(async () => {
  dist = await mkdtemp(path.join(os.tmpdir(), 'tally-dashboard-dist-'));
  await mkdir(path.join(dist, 'assets'));
  await writeFile(path.join(dist, 'index.html'), INDEX);
  await writeFile(path.join(dist, 'assets', 'app-3f9a1c.js'), SCRIPT);
  await writeFile(path.join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  api = await startApp('api', { ...inject('stackEnv'), LOG_LEVEL: 'debug', DASHBOARD_DIST_DIR: dist });
}, 90_000);

afterAll(async () => {
  await api?.stop();
  await rm(dist, { recursive: true, force: true });
});

const expectSecurityHeaders = (res: Response, what: string) => {
  expect(res.headers.get('content-security-policy'), what).toBe(CSP);
  expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(res.headers.get('referrer-policy'), what).toBe('no-referrer');
  expect(res.headers.get('x-frame-options'), what).toBe('DENY');
};

describe('/dashboard static app', () => {
  it('serves index.html for the app and its own paths, assets with long caching, all with the security headers', { timeout: 60_000 }, async () => {
    for (const p of ['/dashboard', '/dashboard/', '/dashboard/customers/cust-1', '/dashboard/add-ons/credit-packs']) {
      const res = await fetch(api.url + p);
      expect(res.status, p).toBe(200);
      expect(res.headers.get('content-type'), p).toMatch(/^text\/html/);
      expect(await res.text(), p).toBe(INDEX);
      expect(res.headers.get('cache-control'), p).toBe('no-cache');
      expectSecurityHeaders(res, p);
    }
    const asset = await fetch(`${api.url}/dashboard/assets/app-3f9a1c.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await asset.text()).toBe(SCRIPT);
    expectSecurityHeaders(asset, 'asset');
    const icon = await fetch(`${api.url}/dashboard/favicon.svg`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('cache-control')).toBe('no-cache'); // not hashed: revalidated
    // a hashed asset that is not there is a 404, never the app's HTML
    const missing = await fetch(`${api.url}/dashboard/assets/app-000000.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).not.toMatch(/html/);
    // nothing outside the build is reachable
    for (const p of ['/dashboard/../package.json', '/dashboard/%2e%2e/%2e%2e/package.json', '/dashboard/assets/%2e%2e%2f%2e%2e%2fpackage.json']) {
      const res = await fetch(api.url + p);
      expect(await res.text(), p).not.toContain('"workspaces"');
    }
    // the session API is not the app: unknown routes under /dashboard/api are JSON 404s
    const unknownApi = await fetch(`${api.url}/dashboard/api/nothing`);
    expect(unknownApi.status).toBe(404);
    expectSecurityHeaders(unknownApi, '/dashboard/api/nothing');
  });

  it('answers 503 naming the build command while the build is missing, and the app once it exists', { timeout: 60_000 }, async () => {
    await rm(path.join(dist, 'index.html'));
    try {
      const res = await fetch(`${api.url}/dashboard`);
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await res.text()).toContain('npm run build -w apps/dashboard');
      expectSecurityHeaders(res, '503');
      // the session routes do not depend on the build
      expect((await fetch(`${api.url}/dashboard/api/session`)).status).toBe(401);
    } finally {
      await writeFile(path.join(dist, 'index.html'), INDEX);
    }
    expect((await fetch(`${api.url}/dashboard/customers`)).status).toBe(200);
  });

  it('logs requests but never the API key, the session token or the CSRF token', { timeout: 60_000 }, async () => {
    const tenant = await newTenant('dash-logs');
    const s = await signIn(tenant.apiKey.secret, api.url);
    expect(s.status).toBe(200);
    expect((await withCookie(s.cookie, 'GET', '/dashboard/api/session', undefined, {}, api.url)).status).toBe(200);
    expect((await withCookie(s.cookie, 'GET', '/v1/customers', undefined, {}, api.url)).status).toBe(200);
    const refused = await withCookie(s.cookie, 'POST', '/v1/customers', { id: 'x' }, {}, api.url);
    expect(refused.status).toBe(403);
    const wrongKey = tenant.apiKey.secret.slice(0, -4) + 'ZZZZ';
    expect((await signIn(wrongKey, api.url)).status).toBe(401);
    const malformed = await fetch(`${api.url}/dashboard/api/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: `{"apiKey":"${tenant.apiKey.secret}"` });
    expect(malformed.status).toBe(400);
    const out = await fetch(`${api.url}/dashboard/api/session`, { method: 'DELETE', headers: { Cookie: s.cookie, 'X-CSRF-Token': s.csrfToken } });
    expect(out.status).toBe(204);

    // the debug request lines are there (so the check below looks at real log output) ...
    const logs = await eventually(async () => {
      const text = api.output();
      // the request logger logs the path below the router's mount point
      return text.includes('"method":"DELETE","path":"/session","status":204') ? text : null;
    }, 10_000).catch((err) => {
      throw new Error(`${String(err)}\n${api.output().slice(-3000)}`);
    });
    expect(logs).toContain('"method":"POST","path":"/session","status":200');
    expect(logs).toContain('"method":"POST","path":"/dashboard/api/session","status":401');
    // ... and none of the secrets
    for (const [name, secret] of [['key', tenant.apiKey.secret], ['wrong key', wrongKey], ['session token', s.token], ['csrf token', s.csrfToken]] as const) {
      expect(logs.includes(secret), name).toBe(false);
    }
  });
});
