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
  /** 'renewal': a paid plan's charge (a period's renewal or an upgrade's prorated charge; then `pack` is the plan). */
  source: z.enum(['purchase', 'auto_topup', 'renewal']),
  checkoutUrl: z.string().nullable(),
  failure: z.object({ code: z.string(), message: z.string() }).nullable(),
  refund: z
    .object({ amount: z.number().int(), revokedCredits: z.number(), spentCredits: z.number(), createdAt: z.string() })
    .nullable(),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
  /** Only on plan charges in GET /v1/purchases: 'renewal' (a plan's period) or 'upgrade' (prorated); absent on a credit pack purchase. */
  kind: z.enum(['renewal', 'upgrade']).optional(),
  /** renewal and upgrade rows: the plan charged and the period the charge pays for. */
  plan: z.string().optional(),
  periodStart: z.string().optional(),
  periodEnd: z.string().optional(),
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
