import { z } from 'zod';
import { slugSchema } from './common.ts';
import { customerIdSchema } from './customers.ts';
import { storable } from '../text.ts';

export const subscriptionsQuerySchema = z.object({ customer: customerIdSchema });

/** POST /v1/subscriptions/cancel and /resume: the customer's live base plan (or the one named by `product`). */
export const subscriptionChangeBodySchema = storable(z.object({ customer: customerIdSchema, product: slugSchema.optional() }));

export const renewalViewSchema = z.object({
  reference: z.string(),
  /** 'renewal' (a period's charge) or 'upgrade' (the prorated charge of an upgrade). */
  kind: z.enum(['renewal', 'upgrade']),
  subscription: z.string(),
  customer: z.string(),
  plan: z.string(),
  periodStart: z.string(),
  periodEnd: z.string(),
  /** Minor units. */
  amount: z.number().int(),
  currency: z.string(),
  status: z.enum(['pending', 'charging', 'retrying', 'succeeded', 'failed']),
  attempt: z.number().int(),
  nextAttemptAt: z.string().nullable(),
  failure: z.object({ code: z.string(), message: z.string() }).nullable(),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
});

export const liveSubscriptionViewSchema = z.object({
  id: z.string(),
  plan: z.string(),
  status: z.enum(['active', 'trialing', 'pending', 'past_due', 'canceled']),
  anchorAt: z.string(),
  /** End of the paid period: the next renewal (null for free plans). */
  currentPeriodEnd: z.string().nullable(),
  cancelAtPeriodEnd: z.boolean(),
  /** A downgrade waiting for the period end. */
  scheduledPlan: z.string().nullable(),
});

export const subscriptionsResultSchema = z.object({
  success: z.literal(true),
  subscription: liveSubscriptionViewSchema.nullable(),
  /** Newest first: every renewal and upgrade charge of the customer. */
  renewals: z.array(renewalViewSchema),
});

export const subscriptionChangeResultSchema = z.object({
  success: z.literal(true),
  subscription: liveSubscriptionViewSchema,
  message: z.string(),
});

export type SubscriptionsResult = z.infer<typeof subscriptionsResultSchema>;
export type SubscriptionChangeResult = z.infer<typeof subscriptionChangeResultSchema>;
