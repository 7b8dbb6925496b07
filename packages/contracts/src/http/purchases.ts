import { z } from 'zod';

export const PURCHASE_STATUSES = ['pending', 'charging', 'awaiting_payment', 'paid', 'completed', 'failed', 'refunded', 'expired'] as const;

export const purchaseParamsSchema = z.object({ reference: z.uuid('a purchase reference is a uuid') });

export const purchaseViewSchema = z.object({
  success: z.literal(true),
  reference: z.string(),
  status: z.enum(PURCHASE_STATUSES),
  customer: z.string(),
  pack: z.string(),
  creditSystem: z.string(),
  quantity: z.number().int(),
  credits: z.number(),
  amount: z.number().int().describe('minor currency units'),
  currency: z.string(),
  provider: z.string(),
  source: z.enum(['purchase', 'auto_topup']),
  checkoutUrl: z.string().nullable(),
  failure: z.object({ code: z.string(), message: z.string() }).nullable(),
  refund: z
    .object({ amount: z.number().int(), revokedCredits: z.number(), spentCredits: z.number(), createdAt: z.string() })
    .nullable(),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
});
export type PurchaseView = z.infer<typeof purchaseViewSchema>;

export const refundResultSchema = z.object({
  success: z.literal(true),
  reference: z.string(),
  status: z.literal('refunded'),
  amount: z.number().int(),
  currency: z.string(),
  /** Unspent credits taken back from the balance. */
  revokedCredits: z.number(),
  /** Credits of the grant already consumed before the refund (kept, recorded). */
  spentCredits: z.number(),
});
export type RefundResultBody = z.infer<typeof refundResultSchema>;
