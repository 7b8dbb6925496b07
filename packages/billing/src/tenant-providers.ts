import type { PaymentEnvironment, PaymentProvider, ProviderRegistry } from '@tally/payments';
import type { Pool } from '@tally/postgres';
import { isAppError, notFound } from '@tally/runtime';
import { LruCache } from './lru-cache.ts';

/**
 * Picks a payment provider for a tenant: the registry refuses one whose
 * credentials are of the other environment (400 provider_not_configured naming
 * it), so a test tenant never reaches a live key. A tenant's environment never
 * changes, so it is cached (bounded) after the first lookup.
 */
export class TenantProviders {
  private readonly environments = new LruCache<string, PaymentEnvironment>(10_000);

  constructor(
    private readonly pool: Pool,
    readonly registry: ProviderRegistry,
  ) {}

  async forTenant(tenantId: string, providerName: string): Promise<PaymentProvider> {
    return this.registry.get(providerName, await this.environmentOf(tenantId));
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
