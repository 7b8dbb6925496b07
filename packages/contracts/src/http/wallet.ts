import { z } from 'zod';
import { customerIdSchema } from './customers.ts';
import { storable } from '../text.ts';

export const walletQuerySchema = z.object({ customer: customerIdSchema });

export const paymentMethodViewSchema = z.object({
  id: z.string(),
  provider: z.string(),
  brand: z.string().nullable(),
  last4: z.string().nullable(),
  expMonth: z.number().int().nullable(),
  expYear: z.number().int().nullable(),
  createdAt: z.string(),
});
export type PaymentMethodView = z.infer<typeof paymentMethodViewSchema>;

export const walletResultSchema = z.object({
  success: z.literal(true),
  hasCard: z.boolean(),
  /** The card charged off-session (the newest one). */
  card: paymentMethodViewSchema.nullable(),
  methods: z.array(paymentMethodViewSchema),
});

export const walletSetupBodySchema = storable(
  z.object({
    customer: customerIdSchema,
    callbackUrl: z.url().optional(),
    provider: z.string().min(1).max(64).optional(),
  }),
);

export const walletSetupResultSchema = z.object({ success: z.literal(true), url: z.string(), reference: z.string() });

export const paymentMethodParamsSchema = z.object({ id: z.uuid() });
