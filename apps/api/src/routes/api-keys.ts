import {
  apiKeyListQuerySchema,
  apiKeyListSchema,
  apiKeyParamsSchema,
  createApiKeyBodySchema,
  createdApiKeySchema,
  errorBodySchema,
  revokedApiKeySchema,
  rotateApiKeyBodySchema,
  rotatedApiKeySchema,
  toPage,
} from '@tally/contracts';
import type { ApiKeyView } from '@tally/catalog';
import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';
import type { Tenant } from '../http/tenant.ts';

const shown = (key: ApiKeyView, tenant: Tenant) => ({ ...key, current: key.id === tenant.apiKeyId });

/**
 * The calling tenant's secret keys. A revoked key is refused by every API
 * process before DELETE answers (change bus). The key making a call cannot
 * revoke itself (409), so a tenant always keeps a working key; rotate
 * replaces a key (the calling one included) with a new one and lets the old
 * one work for an overlap window while deployments switch.
 */
export function registerApiKeyRoutes(routes: RouteTable, ctx: ApiContext): void {
  routes.add({
    method: 'get',
    path: '/api-keys',
    summary: "The tenant's API keys, newest first, revoked ones included (never a secret); cursor pages (default limit 100)",
    tags: ['keys'],
    query: apiKeyListQuerySchema,
    responses: { 200: apiKeyListSchema, 400: errorBodySchema, 401: errorBodySchema },
    handler: async ({ query, tenant }) => {
      const rows = await ctx.tenants.listKeys(tenant.tenantId, { limit: query.limit, after: query.cursor });
      const page = toPage(rows, query.limit, (k) => [k.createdKey, k.id], ({ createdKey: _, ...k }) => shown(k, tenant));
      return { body: { success: true as const, ...page, apiKeys: page.data } };
    },
  });

  routes.add({
    method: 'post',
    path: '/api-keys',
    summary: 'Create a secret key for this tenant; the secret is in this answer only',
    tags: ['keys'],
    body: createApiKeyBodySchema,
    responses: { 201: createdApiKeySchema, 400: errorBodySchema, 401: errorBodySchema, 409: errorBodySchema },
    handler: async ({ body, tenant }) => {
      const created = await ctx.tenants.createKey(tenant.tenantId, body.name);
      return { status: 201, body: { success: true, apiKey: { ...shown(created.view, tenant), secret: created.secret } } };
    },
  });

  routes.add({
    method: 'delete',
    path: '/api-keys/:id',
    summary: 'Revoke a key at once on every API process (revoking a revoked key changes nothing; the calling key itself: 409)',
    tags: ['keys'],
    params: apiKeyParamsSchema,
    responses: { 200: revokedApiKeySchema, 400: errorBodySchema, 401: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema },
    handler: async ({ params, tenant }) => ({
      body: { success: true, apiKey: shown(await ctx.tenants.revokeKey(tenant.tenantId, params.id, { callerKeyId: tenant.apiKeyId }), tenant) },
    }),
  });

  routes.add({
    method: 'post',
    path: '/api-keys/:id/rotate',
    summary: 'Replace a key with a new one (secret shown once); the old key keeps working for overlapSeconds (default 3600, 0 = revoke now)',
    tags: ['keys'],
    params: apiKeyParamsSchema,
    body: rotateApiKeyBodySchema,
    responses: { 200: rotatedApiKeySchema, 400: errorBodySchema, 401: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema },
    handler: async ({ params, body, tenant }) => {
      const { rotated, created } = await ctx.tenants.rotateKey(tenant.tenantId, params.id, body.overlapSeconds);
      return { body: { success: true as const, rotated: shown(rotated, tenant), apiKey: { ...shown(created.view, tenant), secret: created.secret } } };
    },
  });
}
