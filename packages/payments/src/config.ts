import { z } from 'zod';

/** Published in this repository, so anyone can sign with it: refused in production (paymentsEnvRules). */
export const SANDBOX_DEV_WEBHOOK_SECRET = 'whsec_sandbox_local_development_only';

/** An empty variable (`STRIPE_SECRET_KEY=` in a compose file) counts as unset. */
const unsetWhenEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

/**
 * Payment settings, merged into the API's and the workers' config schemas
 * (`sharedEnv.extend(paymentsEnv.shape).superRefine(paymentsEnvRules)`) so both
 * parse them at start-up. Stripe is configured only when STRIPE_SECRET_KEY is set,
 * and then only together with STRIPE_WEBHOOK_SECRET (docs/security.md).
 */
export const paymentsEnv = z.object({
  SANDBOX_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').default(SANDBOX_DEV_WEBHOOK_SECRET),
  /**
   * The built-in sandbox provider (test cards, no real money). Unset: on in
   * development and test, off in production, where only `enabled` turns it on.
   */
  SANDBOX_PROVIDER: unsetWhenEmpty(z.enum(['enabled', 'disabled'], "must be 'enabled' or 'disabled'")),
  /** Test knob: delay (ms) before an off-session sandbox charge answers; 0 in production. */
  SANDBOX_CHARGE_DELAY_MS: z.coerce.number().int().min(0).max(120_000).default(0),
  /** sk_test_… serves test tenants only, sk_live_… live tenants only. */
  STRIPE_SECRET_KEY: unsetWhenEmpty(z.string().regex(/^sk_(test|live)_\S+$/, 'must be a Stripe secret key (sk_test_… or sk_live_…)')),
  STRIPE_WEBHOOK_SECRET: unsetWhenEmpty(z.string().regex(/^whsec_\S+$/, "must be the webhook endpoint's signing secret (whsec_…)")),
  /** Override of Stripe's API base URL (tests and stripe-mock). */
  STRIPE_API_BASE: z.url().optional(),
  /** A purchase awaiting payment (hosted checkout opened, not paid) expires after this many seconds. */
  PURCHASE_EXPIRY_SECONDS: z.coerce.number().int().min(1).max(90 * 86_400).default(86_400),
});
export type PaymentsEnv = z.infer<typeof paymentsEnv>;

type RuledEnv = Pick<PaymentsEnv, 'STRIPE_SECRET_KEY' | 'STRIPE_WEBHOOK_SECRET' | 'SANDBOX_PROVIDER' | 'SANDBOX_WEBHOOK_SECRET'> & { NODE_ENV?: string };

/** Whether this process serves the sandbox provider (its checkout pages, its webhooks, its charges). */
export const sandboxEnabled = (env: Pick<RuledEnv, 'SANDBOX_PROVIDER' | 'NODE_ENV'>): boolean =>
  env.SANDBOX_PROVIDER ? env.SANDBOX_PROVIDER === 'enabled' : env.NODE_ENV !== 'production';

/**
 * Rules across variables, for the app schemas' `superRefine`: a Stripe key
 * without the webhook signing secret would verify webhooks against an empty
 * secret, which anyone can sign with; such a process refuses to start. So
 * does any production process left with the published development secret,
 * whether or not the sandbox is on now: a forged "paid" event would verify
 * the day someone turns it on.
 */
export function paymentsEnvRules(env: RuledEnv, ctx: z.RefinementCtx): void {
  if (env.NODE_ENV === 'production' && env.SANDBOX_WEBHOOK_SECRET === SANDBOX_DEV_WEBHOOK_SECRET) {
    ctx.addIssue({
      code: 'custom',
      path: ['SANDBOX_WEBHOOK_SECRET'],
      message: 'is unset or the public development default; set your own secret (≥ 16 characters) when NODE_ENV=production',
    });
  }
  if (env.STRIPE_SECRET_KEY && !env.STRIPE_WEBHOOK_SECRET) {
    ctx.addIssue({
      code: 'custom',
      path: ['STRIPE_WEBHOOK_SECRET'],
      message: 'is required when STRIPE_SECRET_KEY is set (Stripe webhooks are verified with it)',
    });
  }
}
