import { randomUUID } from 'node:crypto';
import type { Pool, Queryable } from '@tally/postgres';
import type { PaymentProvider, SavedCard } from '@tally/payments';

export interface PaymentMethod {
  id: string;
  tenantId: string;
  customerId: string;
  provider: string;
  providerMethodId: string;
  providerCustomerId: string;
  brand: string | null;
  last4: string | null;
  expMonth: number | null;
  expYear: number | null;
  createdAt: Date;
}

interface Row {
  id: string;
  tenant_id: string;
  customer_id: string;
  provider: string;
  provider_method_id: string;
  provider_customer_id: string;
  brand: string | null;
  last4: string | null;
  exp_month: number | null;
  exp_year: number | null;
  created_at: Date;
}

const toMethod = (r: Row): PaymentMethod => ({
  id: r.id,
  tenantId: r.tenant_id,
  customerId: r.customer_id,
  provider: r.provider,
  providerMethodId: r.provider_method_id,
  providerCustomerId: r.provider_customer_id,
  brand: r.brand,
  last4: r.last4,
  expMonth: r.exp_month,
  expYear: r.exp_year,
  createdAt: r.created_at,
});

/** Saved cards (payment_methods) and the provider-side customer of each Tally customer. */
export class PaymentMethods {
  constructor(private readonly pool: Pool) {}

  async list(tenantId: string, customerId: string, provider?: string): Promise<PaymentMethod[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM payment_methods WHERE tenant_id = $1 AND customer_id = $2 AND removed_at IS NULL
          AND ($3::text IS NULL OR provider = $3) ORDER BY created_at DESC, id`,
      [tenantId, customerId, provider ?? null],
    );
    return rows.map(toMethod);
  }

  /** The card charged off-session: the newest one saved with that provider. */
  async default(tenantId: string, customerId: string, provider: string): Promise<PaymentMethod | null> {
    return (await this.list(tenantId, customerId, provider))[0] ?? null;
  }

  async get(tenantId: string, id: string): Promise<PaymentMethod | null> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM payment_methods WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
    return rows[0] ? toMethod(rows[0]) : null;
  }

  /** Saves a card once per provider method id; returns whether it was new. */
  async save(db: Queryable, tenantId: string, customerId: string, provider: string, card: SavedCard): Promise<boolean> {
    const { rowCount } = await db.query(
      `INSERT INTO payment_methods (id, tenant_id, customer_id, provider, provider_method_id, provider_customer_id, brand, last4, exp_month, exp_year)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (tenant_id, provider, provider_method_id) DO NOTHING`,
      [randomUUID(), tenantId, customerId, provider, card.providerMethodId, card.providerCustomerId, card.brand, card.last4, card.expMonth, card.expYear],
    );
    return (rowCount ?? 0) > 0;
  }

  async remove(tenantId: string, id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'UPDATE payment_methods SET removed_at = now() WHERE tenant_id = $1 AND id = $2 AND removed_at IS NULL',
      [tenantId, id],
    );
    return (rowCount ?? 0) > 0;
  }

  /** The customer's object at the provider, created once and remembered. */
  async providerCustomer(
    provider: PaymentProvider,
    tenantId: string,
    customer: { id: string; email: string | null; name: string | null },
  ): Promise<string> {
    const found = await this.pool.query<{ provider_customer_id: string }>(
      'SELECT provider_customer_id FROM provider_customers WHERE tenant_id = $1 AND customer_id = $2 AND provider = $3',
      [tenantId, customer.id, provider.name],
    );
    if (found.rows[0]) return found.rows[0].provider_customer_id;
    const created = await provider.ensureCustomer({ tenantId, customerId: customer.id, email: customer.email, name: customer.name });
    // Two racing callers: the first insert wins and both use its id.
    const { rows } = await this.pool.query<{ provider_customer_id: string }>(
      `INSERT INTO provider_customers (tenant_id, customer_id, provider, provider_customer_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant_id, customer_id, provider) DO UPDATE SET provider_customer_id = provider_customers.provider_customer_id
       RETURNING provider_customer_id`,
      [tenantId, customer.id, provider.name, created],
    );
    return rows[0]!.provider_customer_id;
  }
}
