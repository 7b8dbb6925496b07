import type { PaymentEnvironment, PaymentProvider, ProviderRegistry } from '@tally/payments';
import { isAppError } from '@tally/runtime';
import type { ProviderCredentials, ProviderKeys } from './credentials/provider-credentials.ts';
import { LruCache } from './lru-cache.ts';
import type { TenantEnvironments } from './tenant-environment-repo.ts';
import { paymentErrors } from '@tally/payments';
import { catalogErrors } from '@tally/catalog';

/** Tenants' own provider keys (Stripe), and how to build a provider on them. */
export interface OwnProviders {
  credentials: ProviderCredentials;
  stripeFor: (keys: ProviderKeys) => PaymentProvider;
}

/**
 * Picks a payment provider for a tenant: the registry refuses one whose
 * credentials are of the other environment (400 provider_not_configured naming
 * it), so a test tenant never reaches a live key. A tenant's environment never
 * changes, so it is cached (bounded) after the first lookup.
 *
 * The sandbox takes no real money: a live tenant never gets it, whatever the
 * deployment configured (checked by name here, before the registry).
 */
export const SANDBOX_PROVIDER_NAME = 'sandbox';

/** The 400 a live tenant gets for the sandbox: at addon, attach, checkout jobs and webhooks, and at sync (naming the packs and plans). */
export const sandboxNotForLive = (details: Record<string, unknown> = {}, subject = '') =>
  paymentErrors.provider_not_configured(
    `payment provider "sandbox" is not configured for live tenants (it takes no real money)${subject ? `: ${subject}` : ''}; give ${subject ? 'them' : 'it'} a live provider (e.g. "provider": "stripe", or "defaultProvider")`,
    { details: { provider: SANDBOX_PROVIDER_NAME, environment: 'live', ...details } },
  );

export class TenantProviders {
  private readonly environments = new LruCache<string, PaymentEnvironment>(10_000);
  /** Providers built on tenants' own keys, by tenant and the keys' version (a new PUT builds a new one). */
  private readonly built = new LruCache<string, PaymentProvider>(1_000);

  constructor(
    private readonly tenants: TenantEnvironments,
    readonly registry: ProviderRegistry,
    private readonly own: OwnProviders | null = null,
  ) {}

  /** The tenant's own keys for a provider win over the deployment's (read each time: a PUT elsewhere applies at once). */
  async forTenant(tenantId: string, providerName: string): Promise<PaymentProvider> {
    const environment = await this.environmentOf(tenantId);
    if (providerName === SANDBOX_PROVIDER_NAME && environment === 'live') throw sandboxNotForLive();
    const own = await this.ownProvider(tenantId, providerName);
    if (own) return own;
    return this.registry.get(providerName, environment);
  }

  /** The provider on the tenant's own keys, or null when it has none (or the provider takes none: only Stripe does). */
  async ownProvider(tenantId: string, providerName: string): Promise<PaymentProvider | null> {
    if (!this.own || providerName !== 'stripe') return null;
    const keys = await this.own.credentials.get(tenantId, providerName);
    if (!keys) return null;
    const cacheKey = `${tenantId}:${providerName}:${keys.updatedAt.getTime()}`;
    let provider = this.built.get(cacheKey);
    if (!provider) {
      provider = this.own.stripeFor(keys);
      this.built.set(cacheKey, provider);
    }
    if (provider.environment !== (await this.environmentOf(tenantId))) {
      throw paymentErrors.provider_not_configured(`the tenant's own ${providerName} key is a ${provider.environment} key; this tenant takes ${await this.environmentOf(tenantId)} payments`, { details: { provider: providerName } });
    }
    return provider;
  }

  /** Why `providerName` cannot take this tenant's payments (the message addon would answer), or null when it can. */
  async unavailable(tenantId: string, providerName: string): Promise<string | null> {
    try {
      await this.forTenant(tenantId, providerName);
      return null;
    } catch (err) {
      if (isAppError(err) && err.status === 400) return err.message;
      throw err;
    }
  }

  async environmentOf(tenantId: string): Promise<PaymentEnvironment> {
    const cached = this.environments.get(tenantId);
    if (cached) return cached;
    const environment = await this.tenants.environmentOf(tenantId);
    if (!environment) throw catalogErrors.tenant_not_found(`tenant ${tenantId} does not exist`);
    this.environments.set(tenantId, environment);
    return environment;
  }
}
