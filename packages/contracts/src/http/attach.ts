import { z } from 'zod';
import { currencySchema, customerDataSchema, metadataSchema, slugSchema } from './common.ts';
import { customerIdSchema, subscriptionViewSchema } from './customers.ts';
import { storable } from '../text.ts';

/** POST /v1/attach: subscribe a customer to a plan (`product` is the plan slug). */
export const attachBodySchema = storable(z.object({
  customer: customerIdSchema,
  product: slugSchema,
  customerData: customerDataSchema.optional(),
  metadata: metadataSchema.optional(),
  currency: currencySchema.optional(),
  callbackUrl: z.url().optional(),
}));
export type AttachBody = z.input<typeof attachBodySchema>;

export const attachResultSchema = z.object({
  success: z.literal(true),
  /** true: the plan is paid and the customer must complete checkout at `checkoutUrl`. */
  requiresCheckout: z.boolean(),
  checkoutUrl: z.string().optional(),
  reference: z.string().optional(),
  subscription: subscriptionViewSchema.nullable(),
  message: z.string(),
});
export type AttachResult = z.infer<typeof attachResultSchema>;
