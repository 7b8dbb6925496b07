import { z } from 'zod';

/**
 * Payment settings, merged into the API's and the workers' config schemas
 * (`sharedEnv.extend(paymentsEnv.shape)`) so both parse them at start-up.
 * Stripe is configured only when STRIPE_SECRET_KEY is set.
 */
export const paymentsEnv = z.object({
  SANDBOX_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').default('whsec_sandbox_local_development_only'),
  /** Test knob: delay (ms) before an off-session sandbox charge answers; 0 in production. */
  SANDBOX_CHARGE_DELAY_MS: z.coerce.number().int().min(0).max(120_000).default(0),
  STRIPE_SECRET_KEY: z.string().startsWith('sk_').optional(),
  STRIPE_WEBHOOK_SECRET: z.string().optional(),
  /** Override of Stripe's API base URL (tests and stripe-mock). */
  STRIPE_API_BASE: z.url().optional(),
});
export type PaymentsEnv = z.infer<typeof paymentsEnv>;
