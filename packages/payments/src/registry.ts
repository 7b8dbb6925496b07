import type { Pool } from '@tally/postgres';
import { badRequest } from '@tally/runtime';
import type { PaymentsEnv } from './config.ts';
import type { PaymentProvider } from './provider.ts';
import { SandboxHostedCheckout } from './sandbox/hosted-checkout.ts';
import { SandboxProvider } from './sandbox/sandbox-provider.ts';
import { SandboxStore } from './sandbox/sandbox-store.ts';
import { StripeProvider } from './stripe/stripe-provider.ts';

/** The providers this deployment has credentials for, by name. */
export class ProviderRegistry {
  private readonly providers = new Map<string, PaymentProvider>();

  add(provider: PaymentProvider): this {
    this.providers.set(provider.name, provider);
    return this;
  }

  has(name: string): boolean {
    return this.providers.has(name);
  }

  /** The provider, or 400 `provider_not_configured` naming it. */
  get(name: string): PaymentProvider {
    const provider = this.providers.get(name);
    if (!provider) throw badRequest('provider_not_configured', `payment provider "${name}" is not configured`, { provider: name });
    return provider;
  }

  names(): string[] {
    return [...this.providers.keys()];
  }
}

export interface Payments {
  providers: ProviderRegistry;
  sandboxStore: SandboxStore;
  hostedCheckout: SandboxHostedCheckout;
}

/** Builds every configured provider: sandbox always, Stripe when its key is set. */
export function createPayments(pool: Pool, env: PaymentsEnv, publicUrl: string): Payments {
  const sandboxStore = new SandboxStore(pool);
  const base = publicUrl.replace(/\/$/, '');
  const providers = new ProviderRegistry().add(
    new SandboxProvider(sandboxStore, { publicUrl: base, webhookSecret: env.SANDBOX_WEBHOOK_SECRET, chargeDelayMs: env.SANDBOX_CHARGE_DELAY_MS }),
  );
  if (env.STRIPE_SECRET_KEY) {
    providers.add(
      new StripeProvider({
        secretKey: env.STRIPE_SECRET_KEY,
        webhookSecret: env.STRIPE_WEBHOOK_SECRET ?? '',
        ...(env.STRIPE_API_BASE ? { apiBase: env.STRIPE_API_BASE } : {}),
      }),
    );
  }
  const hostedCheckout = new SandboxHostedCheckout(sandboxStore, {
    webhookSecret: env.SANDBOX_WEBHOOK_SECRET,
    webhookUrl: `${base}/v1/providers/sandbox/webhook`,
  });
  return { providers, sandboxStore, hostedCheckout };
}
