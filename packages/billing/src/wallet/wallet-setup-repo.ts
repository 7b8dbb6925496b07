import type { Pool, Queryable } from '@tally/postgres';

export interface NewWalletSetup {
  id: string;
  tenantId: string;
  customerId: string;
  provider: string;
  checkoutId: string;
  url: string;
  callbackUrl: string | null;
}

export interface WalletSetupStore {
  insert(s: NewWalletSetup): Promise<void>;
  /**
   * Marks a set-up completed (only that tenant's with `tenantId`, any with null);
   * answers its tenant and customer, or null for an unknown reference.
   */
  complete(db: Queryable, id: string, provider: string, tenantId: string | null): Promise<{ tenantId: string; customerId: string } | null>;
}

/** wallet_setups (card set-ups through a provider's hosted page) in Postgres. */
export class WalletSetupRepo implements WalletSetupStore {
  constructor(private readonly pool: Pool) {}

  async insert(s: NewWalletSetup): Promise<void> {
    await this.pool.query(
      'INSERT INTO wallet_setups (id, tenant_id, customer_id, provider, checkout_id, url, callback_url) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [s.id, s.tenantId, s.customerId, s.provider, s.checkoutId, s.url, s.callbackUrl],
    );
  }

  async complete(db: Queryable, id: string, provider: string, tenantId: string | null): Promise<{ tenantId: string; customerId: string } | null> {
    const { rows } = await db.query<{ tenant_id: string; customer_id: string }>(
      `UPDATE wallet_setups SET status = 'completed' WHERE id = $1 AND provider = $2 AND ($3::uuid IS NULL OR tenant_id = $3::uuid) RETURNING tenant_id, customer_id`,
      [id, provider, tenantId],
    );
    return rows[0] ? { tenantId: rows[0].tenant_id, customerId: rows[0].customer_id } : null;
  }
}
