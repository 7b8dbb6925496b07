import { z } from 'zod';
import { amountSchema, slugSchema } from './common.ts';
import { customerIdSchema } from './customers.ts';
import { storable } from '../text.ts';

export const WEBHOOK_EVENT_TYPES = ['purchase.completed', 'purchase.failed', 'purchase.expired', 'balance.low', 'balance.exhausted', 'refund.completed',
  'subscription.renewed', 'subscription.renewal_failed', 'subscription.past_due', 'subscription.canceled', 'subscription.updated'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const createEndpointBodySchema = z.object({
  url: z.url({ protocol: /^https?$/ }),
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).default([...WEBHOOK_EVENT_TYPES]),
});

export const endpointViewSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()),
  createdAt: z.string(),
});
/** The secret is shown once, in the answer to the creation. */
export const createdEndpointSchema = endpointViewSchema.extend({ success: z.literal(true), secret: z.string() });
export const endpointListSchema = z.object({ success: z.literal(true), endpoints: z.array(endpointViewSchema) });
export const endpointParamsSchema = z.object({ id: z.uuid() });
export const deliveryParamsSchema = z.object({ id: z.uuid(), deliveryId: z.uuid() });

export const deliveryViewSchema = z.object({
  id: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  status: z.enum(['pending', 'succeeded', 'failed']),
  attempts: z.number().int(),
  responseStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  redeliveryOf: z.string().nullable(),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
});
export const deliveryListSchema = z.object({ success: z.literal(true), deliveries: z.array(deliveryViewSchema) });

/** PUT /v1/webhooks/balance-alerts: balance.low fires when a balance falls below `lowBalance` credits. */
export const balanceAlertBodySchema = z.object({ creditSystem: slugSchema, lowBalance: amountSchema });

/** POST /v1/auto-topup: buy `quantity` × `pack` when the balance falls below `threshold` credits. */
export const autoTopupBodySchema = storable(
  z.object({
    customer: customerIdSchema,
    creditSystem: slugSchema,
    threshold: amountSchema,
    pack: z.string().min(1).max(128),
    quantity: z.number().int().min(1).max(100).default(1),
    enabled: z.boolean().default(true),
  }),
);
export const autoTopupViewSchema = z.object({
  success: z.literal(true),
  customer: z.string(),
  creditSystem: z.string(),
  threshold: z.number(),
  pack: z.string(),
  quantity: z.number().int(),
  enabled: z.boolean(),
  disabledReason: z.string().nullable(),
});
