import { z } from 'zod';
import { createdKeySchema, pageQueryShape, pageSchema } from '../pagination.ts';
import { customerIdSchema } from './customers.ts';
import { importStatusSchema } from './imports.ts';
import { PURCHASE_STATUSES, purchaseViewSchema } from './purchases.ts';
import { deliveryViewSchema } from './webhooks.ts';

/**
 * The operator lists of purchases, imports and webhook deliveries: newest
 * first, keyset (createdAt, id) descending. The cursor carries created_at with
 * Postgres's microseconds (a JS Date would drop them and rows sharing a
 * millisecond would be skipped or repeated) and the row's uuid.
 */
export const newestFirstKeySchema = z.tuple([createdKeySchema, z.uuid()]);
export type NewestFirstKey = z.infer<typeof newestFirstKeySchema>;

/** GET /v1/purchases: optionally one customer's, optionally in one status. */
export const purchaseListQuerySchema = z.strictObject({
  ...pageQueryShape(newestFirstKeySchema, 20),
  customer: customerIdSchema.optional(),
  status: z.enum(PURCHASE_STATUSES).optional(),
});
export const purchaseListItemSchema = purchaseViewSchema.omit({ success: true });
export const purchaseListResultSchema = pageSchema(purchaseListItemSchema);
export type PurchaseListResult = z.infer<typeof purchaseListResultSchema>;

/** GET /v1/imports: every import of the tenant, whatever its state. */
export const importListQuerySchema = z.strictObject({ ...pageQueryShape(newestFirstKeySchema, 20) });
export const importListItemSchema = importStatusSchema.omit({ success: true });
export const importListResultSchema = pageSchema(importListItemSchema);
export type ImportListResult = z.infer<typeof importListResultSchema>;

/** GET /v1/webhooks/endpoints/:id/deliveries (the default limit stays 100, as before pages). */
export const deliveryListQuerySchema = z.strictObject({ ...pageQueryShape(newestFirstKeySchema, 100) });
export const deliveryPageSchema = pageSchema(deliveryViewSchema).extend({
  deliveries: z.array(deliveryViewSchema).describe('deprecated: the same rows as data (the field of the list before it had pages)'),
});
export type DeliveryPage = z.infer<typeof deliveryPageSchema>;
