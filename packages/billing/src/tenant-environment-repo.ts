import type { PaymentEnvironment } from '@tally/payments';
import type { Pool } from '@tally/postgres';

/** Which payments a tenant takes (test or live); null for an unknown tenant. */
export interface TenantEnvironments {
  environmentOf(tenantId: string): Promise<PaymentEnvironment | null>;
}

export class TenantEnvironmentRepo implements TenantEnvironments {
  constructor(private readonly pool: Pool) {}

  async environmentOf(tenantId: string): Promise<PaymentEnvironment | null> {
    const { rows } = await this.pool.query<{ environment: PaymentEnvironment }>('SELECT environment FROM tenants WHERE id = $1', [tenantId]);
    return rows[0]?.environment ?? null;
  }
}
