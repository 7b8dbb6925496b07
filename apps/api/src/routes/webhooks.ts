import { z } from 'zod';
import { fromMicro } from '@tally/core';
import {
  autoTopupBodySchema,
  autoTopupViewSchema,
  balanceAlertBodySchema,
  createdEndpointSchema,
  createEndpointBodySchema,
  deliveryListQuerySchema,
  deliveryPageSchema,
  deliveryParamsSchema,
  deliveryViewSchema,
  endpointListSchema,
  endpointParamsSchema,
  errorBodySchema,
  slugSchema,
  toPage,
} from '@tally/contracts';
import type { AutoTopupSettings, Delivery, Endpoint } from '@tally/billing';
import { notFound } from '@tally/runtime';
import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';

const endpointView = (e: Endpoint) => ({ id: e.id, url: e.url, events: e.events, createdAt: e.createdAt.toISOString() });
const deliveryView = (d: Delivery) => ({
  id: d.id,
  eventId: d.eventId,
  eventType: d.eventType,
  status: d.status,
  attempts: d.attempts,
  responseStatus: d.responseStatus,
  lastError: d.lastError,
  redeliveryOf: d.redeliveryOf,
  createdAt: d.createdAt.toISOString(),
  deliveredAt: d.deliveredAt?.toISOString() ?? null,
});
const topupView = (s: AutoTopupSettings) => ({
  success: true as const,
  customer: s.customerId,
  creditSystem: s.creditSystem,
  threshold: fromMicro(s.thresholdMicro),
  pack: s.packSlug,
  quantity: s.quantity,
  enabled: s.enabled,
  disabledReason: s.disabledReason,
});

/** Outbound webhook endpoints and their delivery log, balance alert thresholds, auto top-up settings. */
export function registerWebhookRoutes(routes: RouteTable, ctx: ApiContext): void {
  const { endpoints, deliveries, alerts, autoTopup } = ctx.billing;

  routes.add({
    method: 'post',
    path: '/webhooks/endpoints',
    summary: 'Add a webhook endpoint; the signing secret is shown once',
    tags: ['webhooks'],
    body: createEndpointBodySchema,
    responses: { 201: createdEndpointSchema, 400: errorBodySchema },
    handler: async ({ body, tenant }) => {
      const e = await endpoints.create(tenant.tenantId, body.url, body.events);
      return { status: 201, body: { success: true, ...endpointView(e), secret: e.secret } };
    },
  });

  routes.add({
    method: 'get',
    path: '/webhooks/endpoints',
    summary: 'Webhook endpoints',
    tags: ['webhooks'],
    responses: { 200: endpointListSchema },
    handler: async ({ tenant }) => ({ body: { success: true, endpoints: (await endpoints.list(tenant.tenantId)).map(endpointView) } }),
  });

  routes.add({
    method: 'get',
    path: '/webhooks/endpoints/:id',
    summary: 'A webhook endpoint (without its secret)',
    tags: ['webhooks'],
    params: endpointParamsSchema,
    responses: { 200: endpointListSchema.shape.endpoints.element.extend({ success: z.literal(true) }), 404: errorBodySchema },
    handler: async ({ params, tenant }) => ({ body: { success: true, ...endpointView(await endpoints.get(tenant.tenantId, params.id)) } }),
  });

  routes.add({
    method: 'delete',
    path: '/webhooks/endpoints/:id',
    summary: 'Remove a webhook endpoint',
    tags: ['webhooks'],
    params: endpointParamsSchema,
    responses: { 200: z.object({ success: z.literal(true) }), 404: errorBodySchema },
    handler: async ({ params, tenant }) => {
      await endpoints.remove(tenant.tenantId, params.id);
      return { body: { success: true } };
    },
  });

  routes.add({
    method: 'get',
    path: '/webhooks/endpoints/:id/deliveries',
    summary: "An endpoint's delivery log, newest first (cursor pagination; `deliveries` repeats `data` for older clients)",
    tags: ['webhooks'],
    params: endpointParamsSchema,
    query: deliveryListQuerySchema,
    responses: { 200: deliveryPageSchema, 400: errorBodySchema, 404: errorBodySchema },
    handler: async ({ params, query, tenant }) => {
      await endpoints.get(tenant.tenantId, params.id);
      const rows = await deliveries.list(tenant.tenantId, params.id, { limit: query.limit, after: query.cursor });
      const page = toPage(rows, query.limit, (r) => [r.createdKey, r.delivery.id], (r) => deliveryView(r.delivery));
      return { body: { success: true as const, ...page, deliveries: page.data } };
    },
  });

  routes.add({
    method: 'post',
    path: '/webhooks/endpoints/:id/deliveries/:deliveryId/redeliver',
    summary: 'Send a delivered (or failed) event again',
    tags: ['webhooks'],
    params: deliveryParamsSchema,
    responses: { 202: z.object({ success: z.literal(true), delivery: deliveryViewSchema }), 404: errorBodySchema },
    handler: async ({ params, tenant }) => {
      await endpoints.get(tenant.tenantId, params.id);
      const d = await deliveries.redeliver(tenant.tenantId, params.id, params.deliveryId);
      return { status: 202, body: { success: true, delivery: deliveryView(d) } };
    },
  });

  routes.add({
    method: 'put',
    path: '/webhooks/balance-alerts',
    summary: 'Set the balance.low threshold of a credit system (credits)',
    tags: ['webhooks'],
    body: balanceAlertBodySchema,
    responses: { 200: z.object({ success: z.literal(true), creditSystem: z.string(), lowBalance: z.number() }), 404: errorBodySchema },
    handler: async ({ body, tenant }) => {
      const snapshot = await ctx.catalog.snapshot(tenant.tenantId);
      if (!snapshot.creditSystems.has(body.creditSystem)) {
        throw notFound('credit_system_not_found', `credit system "${body.creditSystem}" does not exist`);
      }
      await alerts.setThreshold(tenant.tenantId, body.creditSystem, body.lowBalance);
      return { body: { success: true, creditSystem: body.creditSystem, lowBalance: body.lowBalance } };
    },
  });

  const alertQuery = z.object({ creditSystem: slugSchema });
  routes.add({
    method: 'get',
    path: '/webhooks/balance-alerts',
    summary: 'The balance.low threshold of a credit system (credits)',
    tags: ['webhooks'],
    query: alertQuery,
    responses: { 200: z.object({ success: z.literal(true), creditSystem: z.string(), lowBalance: z.number() }), 404: errorBodySchema },
    handler: async ({ query, tenant }) => {
      const low = await alerts.getThreshold(tenant.tenantId, query.creditSystem);
      if (low === null) throw notFound('balance_alert_not_found', `no balance alert for credit system "${query.creditSystem}"`);
      return { body: { success: true, creditSystem: query.creditSystem, lowBalance: fromMicro(low) } };
    },
  });

  routes.add({
    method: 'delete',
    path: '/webhooks/balance-alerts',
    summary: 'Remove the balance.low threshold of a credit system (balance.exhausted still fires)',
    tags: ['webhooks'],
    query: alertQuery,
    responses: { 200: z.object({ success: z.literal(true) }), 404: errorBodySchema },
    handler: async ({ query, tenant }) => {
      if (!(await alerts.removeThreshold(tenant.tenantId, query.creditSystem))) {
        throw notFound('balance_alert_not_found', `no balance alert for credit system "${query.creditSystem}"`);
      }
      return { body: { success: true } };
    },
  });

  routes.add({
    method: 'post',
    path: '/auto-topup',
    summary: 'Opt a customer in to (or out of) auto top-up for a credit system',
    tags: ['billing'],
    body: autoTopupBodySchema,
    responses: { 200: autoTopupViewSchema, 404: errorBodySchema },
    handler: async ({ body, tenant }) => ({ body: topupView(await autoTopup.configure(tenant.tenantId, body)) }),
  });

  routes.add({
    method: 'get',
    path: '/auto-topup',
    summary: "A customer's auto top-up setting for a credit system",
    tags: ['billing'],
    query: z.object({ customer: z.string().min(1), creditSystem: slugSchema }),
    responses: { 200: autoTopupViewSchema, 404: errorBodySchema },
    handler: async ({ query, tenant }) => {
      const s = await autoTopup.settings(tenant.tenantId, query.customer, query.creditSystem);
      if (!s) throw notFound('auto_topup_not_found', 'no auto top-up for this customer and credit system');
      return { body: topupView(s) };
    },
  });

  routes.add({
    method: 'delete',
    path: '/auto-topup',
    summary: "Remove a customer's auto top-up setting for a credit system",
    tags: ['billing'],
    query: z.object({ customer: z.string().min(1), creditSystem: slugSchema }),
    responses: { 200: z.object({ success: z.literal(true) }), 404: errorBodySchema },
    handler: async ({ query, tenant }) => {
      if (!(await autoTopup.remove(tenant.tenantId, query.customer, query.creditSystem))) {
        throw notFound('auto_topup_not_found', 'no auto top-up for this customer and credit system');
      }
      return { body: { success: true } };
    },
  });
}
