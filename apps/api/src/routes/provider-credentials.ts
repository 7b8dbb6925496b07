import { z } from 'zod';
import { errorBodySchema, stripeCredentialsBodySchema, stripeCredentialsViewSchema } from '@tally/contracts';
import { badRequest, notFound } from '@tally/runtime';
import type { ApiContext } from '../context.ts';
import { rawBodyOf } from '../http/raw-body.ts';
import type { RouteTable } from '../http/route.ts';

/**
 * A tenant's own Stripe account: its keys (sealed with CREDENTIALS_KEY) win over the deployment's for
 * that tenant's checkouts, charges and refunds, and its webhooks arrive at its own URL, verified with
 * its own signing secret (docs/billing.md, "Your own Stripe account").
 */
export function registerProviderCredentialRoutes(routes: RouteTable, ctx: ApiContext): void {
  const base = ctx.config.publicUrl.replace(/\/$/, '');
  const webhookUrl = (tenantId: string) => `${base}/v1/providers/stripe/webhook/${tenantId}`;
  const store = () => {
    if (!ctx.billing.credentials) throw badRequest('provider_not_configured', 'this deployment has no CREDENTIALS_KEY to seal tenant keys with', { provider: 'stripe' });
    return ctx.billing.credentials;
  };

  routes.add({
    method: 'put',
    path: '/providers/stripe/credentials',
    summary: "Use this tenant's own Stripe account (secret key and webhook signing secret; never answered back)",
    tags: ['billing'],
    body: stripeCredentialsBodySchema,
    responses: { 200: stripeCredentialsViewSchema, 400: errorBodySchema },
    handler: async ({ body, tenant }) => {
      const keyEnv = /^[a-z]{2}_(test|live)_/.exec(body.secretKey)![1];
      if (keyEnv !== tenant.environment) {
        throw badRequest('validation_error', `secretKey: a ${keyEnv} key cannot take this ${tenant.environment} tenant's payments`, {
          issues: [{ path: 'secretKey', message: `must be a ${tenant.environment} key` }],
        });
      }
      const saved = await store().put(tenant.tenantId, 'stripe', body);
      return { body: { success: true, configured: true, keyHint: saved.keyHint, updatedAt: saved.updatedAt.toISOString(), webhookUrl: webhookUrl(tenant.tenantId) } };
    },
  });

  routes.add({
    method: 'get',
    path: '/providers/stripe/credentials',
    summary: "Whether this tenant uses its own Stripe account (a hint of the key, never the key)",
    tags: ['billing'],
    responses: { 200: stripeCredentialsViewSchema },
    handler: async ({ tenant }) => {
      const keys = ctx.billing.credentials ? await ctx.billing.credentials.get(tenant.tenantId, 'stripe') : null;
      return {
        body: { success: true, configured: keys !== null, keyHint: keys?.keyHint ?? null, updatedAt: keys?.updatedAt.toISOString() ?? null, webhookUrl: webhookUrl(tenant.tenantId) },
      };
    },
  });

  routes.add({
    method: 'delete',
    path: '/providers/stripe/credentials',
    summary: "Stop using this tenant's own Stripe account (back to the deployment's keys, if any)",
    tags: ['billing'],
    responses: { 200: z.object({ success: z.literal(true) }), 404: errorBodySchema },
    handler: async ({ tenant }) => {
      if (!(await store().remove(tenant.tenantId, 'stripe'))) throw notFound('credentials_not_found', 'this tenant has no Stripe keys of its own');
      return { body: { success: true } };
    },
  });

  routes.add({
    method: 'post',
    path: '/providers/stripe/webhook/:tenantId',
    summary: "Webhooks of a tenant's own Stripe account (verified with its signing secret; acts on that tenant only)",
    tags: ['billing'],
    auth: false,
    params: z.object({ tenantId: z.uuid('a tenant id is a UUID') }),
    responses: { 200: z.object({ received: z.literal(true), duplicate: z.boolean() }), 400: errorBodySchema },
    handler: async ({ params, req }) => {
      const raw = rawBodyOf(req) ?? (typeof req.body === 'string' ? req.body : undefined);
      if (raw === undefined) throw badRequest('invalid_signature', 'webhook body must be JSON');
      return { body: await ctx.billing.providerWebhooks.receiveForTenant(params.tenantId, 'stripe', raw, req.headers) };
    },
  });
}
