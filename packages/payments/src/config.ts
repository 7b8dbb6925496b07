import { z } from 'zod';

/** An empty variable (`STRIPE_SECRET_KEY=` in a compose file) counts as unset. */
const unsetWhenEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

/**
 * Payment settings, merged into the API's and the workers' config schemas
 * (`sharedEnv.extend(paymentsEnv.shape).superRefine(paymentsEnvRules)`) so both
 * parse them at start-up. Stripe is configured only when STRIPE_SECRET_KEY is set,
 * and then only together with STRIPE_WEBHOOK_SECRET (docs/security.md).
 */
export const paymentsEnv = z.object({
  SANDBOX_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').default('whsec_sandbox_local_development_only'),
  /** Test knob: delay (ms) before an off-session sandbox charge answers; 0 in production. */
  SANDBOX_CHARGE_DELAY_MS: z.coerce.number().int().min(0).max(120_000).default(0),
  /** sk_test_… serves test tenants only, sk_live_… live tenants only. */
  STRIPE_SECRET_KEY: unsetWhenEmpty(z.string().regex(/^sk_(test|live)_\S+$/, 'must be a Stripe secret key (sk_test_… or sk_live_…)')),
  STRIPE_WEBHOOK_SECRET: unsetWhenEmpty(z.string().regex(/^whsec_\S+$/, "must be the webhook endpoint's signing secret (whsec_…)")),
  /** Override of Stripe's API base URL (tests and stripe-mock). */
  STRIPE_API_BASE: z.url().optional(),
});
export type PaymentsEnv = z.infer<typeof paymentsEnv>;

/**
 * Rules across variables, for the app schemas' `superRefine`: a Stripe key
 * without the webhook signing secret would verify webhooks against an empty
 * secret, which anyone can sign with; such a process refuses to start.
 */
export function paymentsEnvRules(env: Pick<PaymentsEnv, 'STRIPE_SECRET_KEY' | 'STRIPE_WEBHOOK_SECRET'>, ctx: z.RefinementCtx): void {
  if (env.STRIPE_SECRET_KEY && !env.STRIPE_WEBHOOK_SECRET) {
    ctx.addIssue({
      code: 'custom',
      path: ['STRIPE_WEBHOOK_SECRET'],
      message: 'is required when STRIPE_SECRET_KEY is set (Stripe webhooks are verified with it)',
    });
  }
}
