import type { PaymentEnvironment, PaymentProvider, ProviderRegistry } from '@tally/payments';
import type { Pool } from '@tally/postgres';
import { badRequest, isAppError, notFound } from '@tally/runtime';
import { LruCache } from './lru-cache.ts';

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
  badRequest(
    'provider_not_configured',
    `payment provider "sandbox" is not configured for live tenants (it takes no real money)${subject ? `: ${subject}` : ''}; give ${subject ? 'them' : 'it'} a live provider (e.g. "provider": "stripe", or "defaultProvider")`,
    { provider: SANDBOX_PROVIDER_NAME, environment: 'live', ...details },
  );

export class TenantProviders {
  private readonly environments = new LruCache<string, PaymentEnvironment>(10_000);

  constructor(
    private readonly pool: Pool,
    readonly registry: ProviderRegistry,
  ) {}

  async forTenant(tenantId: string, providerName: string): Promise<PaymentProvider> {
    const environment = await this.environmentOf(tenantId);
    if (providerName === SANDBOX_PROVIDER_NAME && environment === 'live') throw sandboxNotForLive();
    return this.registry.get(providerName, environment);
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
    const { rows } = await this.pool.query<{ environment: PaymentEnvironment }>('SELECT environment FROM tenants WHERE id = $1', [tenantId]);
    const environment = rows[0]?.environment;
    if (!environment) throw notFound('tenant_not_found', `tenant ${tenantId} does not exist`);
    this.environments.set(tenantId, environment);
    return environment;
  }
}
