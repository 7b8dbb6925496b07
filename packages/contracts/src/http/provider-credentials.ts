import { z } from 'zod';

/** PUT /v1/providers/stripe/credentials: the tenant's own Stripe account (keys sealed at rest, never answered back). */
export const stripeCredentialsBodySchema = z.strictObject({
  secretKey: z.string().regex(/^(sk|rk)_(test|live)_[A-Za-z0-9]{8,255}$/, 'a Stripe secret or restricted key: sk_test_…, sk_live_…, rk_test_… or rk_live_…'),
  webhookSecret: z.string().regex(/^whsec_[A-Za-z0-9+/=]{8,255}$/, "the signing secret of this tenant's webhook endpoint in Stripe: whsec_…"),
});
export type StripeCredentialsBody = z.infer<typeof stripeCredentialsBodySchema>;

export const stripeCredentialsViewSchema = z.object({
  success: z.literal(true),
  configured: z.boolean(),
  /** `sk_test_…wxyz` when configured. */
  keyHint: z.string().nullable(),
  updatedAt: z.string().nullable(),
  /** Where to point this tenant's webhook endpoint in Stripe's dashboard. */
  webhookUrl: z.string(),
});
export type StripeCredentialsView = z.infer<typeof stripeCredentialsViewSchema>;
