import { z } from 'zod';
import { customerIdSchema, customerViewSchema } from './customers.ts';
import { createdKeySchema, pageQueryShape, pageSchema } from '../pagination.ts';

/** GET /v1/customers: keyset (createdAt, id) ascending; `search` matches id, email or name (case-insensitive substring). */
export const customerListKeySchema = z.tuple([createdKeySchema, customerIdSchema]);
export const customerListQuerySchema = z.strictObject({
  ...pageQueryShape(customerListKeySchema, 20),
  search: z.string().min(1).max(256).optional(),
});
export const customerListResultSchema = pageSchema(customerViewSchema);
export type CustomerListResult = z.infer<typeof customerListResultSchema>;

const credits = z.number().describe('credits (decimal, exact to 6 places)');

export const creditSystemBalanceSchema = z.object({
  creditSystem: z.string(),
  /** Plan allowance left this period. */
  plan: credits,
  /** Purchased (and granted) credits left. */
  purchased: credits,
  total: credits,
  unlimited: z.boolean(),
  /** Plan allowance used this period. */
  used: credits,
  /** Credits used beyond the allowance and the purchased credits this period. */
  overage: credits,
});

export const grantViewSchema = z.object({
  id: z.string(),
  creditSystem: z.string(),
  source: z.enum(['purchase', 'manual', 'auto_topup']),
  purchaseId: z.string().nullable(),
  credits: credits,
  revoked: credits,
  /** Credits of it left to spend now, as the ledger holds them (0 once expired or spent). */
  remaining: credits,
  grantedAt: z.string(),
  expiresAt: z.string().nullable(),
});

export const purchaseSummarySchema = z.object({
  id: z.string(),
  pack: z.string(),
  creditSystem: z.string(),
  quantity: z.number().int(),
  credits: credits,
  amount: z.number().int().describe('minor currency units'),
  currency: z.string(),
  status: z.string(),
  source: z.string(),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
});

export const subscriptionHistorySchema = z.object({
  id: z.string(),
  plan: z.string(),
  status: z.string(),
  anchorAt: z.string(),
  createdAt: z.string(),
  canceledAt: z.string().nullable(),
});

export const recentEventSchema = z.object({
  eventId: z.string(),
  feature: z.string(),
  creditSystem: z.string(),
  value: credits,
  credits: credits,
  creditsPlan: credits,
  creditsPurchased: credits,
  creditsOverage: credits,
  eventTime: z.string(),
  source: z.string(),
});

/** GET /v1/customers/:id/balances: everything an operator reads about one customer's credits. */
export const customerBalancesQuerySchema = z.strictObject({
  events: z.coerce.number().int().min(0).max(100).default(20).describe('how many recent events (newest first)'),
});
export const customerBalancesResultSchema = z.object({
  success: z.literal(true),
  customer: customerViewSchema,
  balances: z.array(creditSystemBalanceSchema),
  /** Grants with credits still unrevoked, in spending order, with what is left of each. */
  grants: z.array(grantViewSchema),
  purchases: z.array(purchaseSummarySchema),
  subscriptions: z.array(subscriptionHistorySchema),
  recentEvents: z.array(recentEventSchema),
});
export type CustomerBalancesResult = z.infer<typeof customerBalancesResultSchema>;
