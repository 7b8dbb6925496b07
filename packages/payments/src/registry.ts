import type { Pool } from '@tally/postgres';
import { paymentErrors } from './errors.ts';
import { sandboxEnabled, type PaymentsEnv } from './config.ts';
import type { PaymentEnvironment, PaymentProvider } from './provider.ts';
import { SandboxHostedCheckout } from './sandbox/hosted-checkout.ts';
import { SandboxProvider } from './sandbox/sandbox-provider.ts';
import { SandboxStore } from './sandbox/sandbox-store.ts';
import { StripeProvider } from './stripe/stripe-provider.ts';

const notConfigured = (name: string, message: string, environment?: PaymentEnvironment) =>
  paymentErrors.provider_not_configured(message, { details: { provider: name, ...(environment ? { environment } : {}) } });

/**
 * The providers this deployment has credentials for, by name. A tenant only
 * gets a provider whose credentials match its environment: a test tenant never
 * reaches a live Stripe key (nor a live tenant a test key or the sandbox, which
 * takes no real money).
 */
export class ProviderRegistry {
  private readonly providers = new Map<string, PaymentProvider>();

  add(provider: PaymentProvider): this {
    this.providers.set(provider.name, provider);
    return this;
  }

  has(name: string): boolean {
    return this.providers.has(name);
  }

  /** The provider for a tenant of `environment`, or 400 `provider_not_configured` naming the provider (and the environment). */
  get(name: string, environment: PaymentEnvironment): PaymentProvider {
    const provider = this.verifier(name);
    if (provider.environment !== environment) {
      throw notConfigured(
        name,
        `payment provider "${name}" is not configured for ${environment} tenants (its credentials are ${provider.environment} only)`,
        environment,
      );
    }
    return provider;
  }

  /** The provider whatever the tenant, for checking a webhook's signature before its tenant is known. */
  verifier(name: string): PaymentProvider {
    const provider = this.providers.get(name);
    if (!provider) throw notConfigured(name, `payment provider "${name}" is not configured`);
    return provider;
  }

  names(): string[] {
    return [...this.providers.keys()];
  }
}

export interface Payments {
  providers: ProviderRegistry;
  /** A Stripe provider on a tenant's own keys (same API base as the deployment's, for tests). */
  stripeFor: (keys: { secretKey: string; webhookSecret: string }) => PaymentProvider;
  sandboxStore: SandboxStore;
  hostedCheckout: SandboxHostedCheckout;
}

/**
 * Builds every configured provider: the sandbox unless it is off (by default in
 * production: sandboxEnabled), Stripe when its key (and, config enforces, its
 * webhook secret) is set.
 */
export function createPayments(pool: Pool, env: PaymentsEnv & { NODE_ENV?: string }, publicUrl: string): Payments {
  const sandboxStore = new SandboxStore(pool);
  const base = publicUrl.replace(/\/$/, '');
  const sandbox = sandboxEnabled(env);
  const providers = new ProviderRegistry();
  if (sandbox) {
    providers.add(new SandboxProvider(sandboxStore, { publicUrl: base, webhookSecret: env.SANDBOX_WEBHOOK_SECRET, chargeDelayMs: env.SANDBOX_CHARGE_DELAY_MS }));
  }
  if (env.STRIPE_SECRET_KEY) {
    if (!env.STRIPE_WEBHOOK_SECRET) throw new Error('STRIPE_WEBHOOK_SECRET is required when STRIPE_SECRET_KEY is set');
    providers.add(
      new StripeProvider({
        secretKey: env.STRIPE_SECRET_KEY,
        webhookSecret: env.STRIPE_WEBHOOK_SECRET,
        ...(env.STRIPE_API_BASE ? { apiBase: env.STRIPE_API_BASE } : {}),
      }),
    );
  }
  const hostedCheckout = new SandboxHostedCheckout(sandboxStore, {
    enabled: sandbox,
    webhookSecret: env.SANDBOX_WEBHOOK_SECRET,
    webhookUrl: `${base}/v1/providers/sandbox/webhook`,
    purchaseExpirySeconds: env.PURCHASE_EXPIRY_SECONDS,
  });
  const stripeFor = (keys: { secretKey: string; webhookSecret: string }) =>
    new StripeProvider({ ...keys, ...(env.STRIPE_API_BASE ? { apiBase: env.STRIPE_API_BASE } : {}) });
  return { providers, sandboxStore, hostedCheckout, stripeFor };
}
