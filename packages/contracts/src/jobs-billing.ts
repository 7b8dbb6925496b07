import { z } from 'zod';

/**
 * Billing queue payloads (their queues: packages/billing's checkout.queue.ts and
 * webhook-delivery.queue.ts). New fields must be optional so jobs already in a
 * queue survive a rolling deploy.
 */

export const checkoutJobSchema = z.object({ tenantId: z.uuid(), purchaseId: z.uuid() });
export type CheckoutJob = z.infer<typeof checkoutJobSchema>;

export const webhookDeliveryJobSchema = z.object({ tenantId: z.uuid(), deliveryId: z.uuid() });
export type WebhookDeliveryJob = z.infer<typeof webhookDeliveryJobSchema>;
