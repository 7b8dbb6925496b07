import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp } from '../app.ts';
import { loadApiConfig } from '../config.ts';
import { createApiContext, type ApiContext } from '../context.ts';
import { openApiPath } from './openapi.ts';
import type { AnyRoute } from './route.ts';

interface Layer {
  rawPath?: string;
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}

/** Every method + path Express really serves, walking nested routers with their mount paths. */
function expressRoutes(stack: Layer[], prefix = ''): Set<string> {
  const found = new Set<string>();
  for (const layer of stack) {
    if (layer.route) {
      for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') found.add(`${method} ${prefix}${layer.route.path}`);
    } else if (layer.handle.stack) {
      const mount = layer.rawPath && layer.rawPath !== '/' ? layer.rawPath : '';
      for (const r of expressRoutes(layer.handle.stack, prefix + mount)) found.add(r);
    }
  }
  return found;
}

const API_ROUTE = /^(get|post|put|patch|delete) \/(v1|admin)\//;

let ctx: ApiContext;
let server: Server;
let base: string;
let table: AnyRoute[];
let expressStack: Layer[];
let doc: { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: Record<string, unknown> }> } }>> };
let secret: string;

beforeAll(async () => {
  ctx = await createApiContext(loadApiConfig({ ...process.env, LOG_LEVEL: 'silent', ADMIN_TOKEN: 'openapi-test-admin-token' }));
  const built = createApp(ctx);
  table = built.routes.routes;
  expressStack = (built.app as unknown as { router: { stack: Layer[] } }).router.stack;
  server = built.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  doc = (await (await fetch(`${base}/openapi.json`)).json()) as typeof doc;
  secret = (await ctx.tenants.createTenant(`openapi-${Date.now()}`)).apiKey.secret;
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await ctx?.close();
});

describe('GET /openapi.json and the routes agree', () => {
  it('documents exactly the routes Express serves under /v1 and /admin', () => {
    const served = [...expressRoutes(expressStack)].filter((r) => API_ROUTE.test(r)).sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m} ${path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1')}`))
      .filter((r) => API_ROUTE.test(r))
      .sort();
    expect(served.length).toBeGreaterThan(0);
    expect(documented).toEqual(served);
    for (const route of ['post /v1/sync', 'post /v1/customers', 'get /v1/customers/:id', 'post /v1/attach', 'get /v1/plans', 'get /v1/plans/:slug', 'get /v1/credit-systems', 'get /v1/credit-packs', 'post /admin/tenants']) {
      expect(served).toContain(route);
    }
  });

  it('every documented route is reachable (never the "no such route" fallback)', async () => {
    for (const [path, methods] of Object.entries(doc.paths)) {
      if (!/^\/(v1|admin)\//.test(path)) continue;
      for (const method of Object.keys(methods)) {
        const url = base + path.replace(/\{[A-Za-z0-9_]+\}/g, 'openapi-probe');
        // A JSON array body fails every object schema, so no handler with a body schema runs.
        const res = await fetch(url, {
          method: method.toUpperCase(),
          headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/json' },
          ...(method === 'get' ? {} : { body: '[]' }),
        });
        const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
        expect(body?.error?.message, `${method} ${path}`).not.toBe('no such route');
      }
    }
  });

  it('documents the request body each route validates with, and the same required fields', () => {
    const withBody = table.filter((r) => r.body);
    expect(withBody.length).toBeGreaterThan(0);
    for (const route of withBody) {
      const documented = doc.paths[openApiPath(route.fullPath)]?.[route.method]?.requestBody?.content['application/json']?.schema;
      const label = `${route.method} ${route.fullPath}`;
      expect(documented, label).toEqual(JSON.parse(JSON.stringify(z.toJSONSchema(route.body!, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }))));
      // What the validator reports missing in an empty body is what the document marks required.
      const parsed = route.body!.safeParse({});
      const missing = parsed.success
        ? []
        : parsed.error.issues.filter((i) => i.code === 'invalid_type' && i.path.length === 1 && (i as { input?: unknown }).input === undefined).map((i) => String(i.path[0]));
      const required = ((documented as { required?: string[] } | undefined)?.required ?? []).slice().sort();
      expect(missing.sort(), label).toEqual(required);
    }
  });
});
