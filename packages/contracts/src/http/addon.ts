import { z } from 'zod';
import { currencySchema, customerDataSchema, metadataSchema } from './common.ts';
import { customerIdSchema } from './customers.ts';
import { storable } from '../text.ts';

/** POST /v1/addon: buy `quantity` credit packs (slug or id). Honours an `Idempotency-Key` header. */
export const addonBodySchema = storable(z.object({
  customer: customerIdSchema,
  pack: z.string().min(1).max(128),
  quantity: z.number().int().min(1, 'quantity is a whole number from 1 to 100').max(100, 'quantity is a whole number from 1 to 100').default(1),
  currency: currencySchema.optional(),
  callbackUrl: z.url().optional(),
  metadata: metadataSchema.optional(),
  /** Creates the customer with these details when it does not exist yet (as track, check and attach do). */
  customerData: customerDataSchema.optional(),
}));
export type AddonBody = z.input<typeof addonBodySchema>;

export const addonResultSchema = z.object({
  success: z.boolean(),
  /** true: send the customer to `checkoutUrl`; credits arrive when the provider confirms payment. */
  requiresCheckout: z.boolean(),
  checkoutUrl: z.string().optional(),
  /** The purchase reference: GET /v1/purchases/:reference. */
  reference: z.string(),
  status: z.string(),
  /** Credits granted (quantity × pack credits) once applied. */
  credits: z.number().optional(),
  /** The customer's balance in the pack's credit system after the grant. */
  balance: z.number().optional(),
  creditSystemId: z.string().optional(),
  message: z.string().optional(),
});
export type AddonResult = z.infer<typeof addonResultSchema>;

/** A declined charge: HTTP 402, nothing granted, with the provider's reason. */
export const addonDeclinedSchema = z.object({
  success: z.literal(false),
  requiresCheckout: z.literal(false),
  reference: z.string(),
  status: z.literal('failed'),
  message: z.string(),
  error: z.object({ code: z.string(), message: z.string() }),
});
