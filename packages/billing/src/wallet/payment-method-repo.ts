import { randomUUID } from 'node:crypto';
import type { SavedCard } from '@tally/payments';
import type { Pool, Queryable } from '@tally/postgres';
import type { PaymentMethod } from './payment-methods.ts';

export interface PaymentMethodStore {
  /** The customer's cards not removed, newest first (of one provider, or all). */
  list(tenantId: string, customerId: string, provider?: string): Promise<PaymentMethod[]>;
  get(tenantId: string, id: string): Promise<PaymentMethod | null>;
  /** Inserts a card once per provider method id; whether it was new. */
  insert(db: Queryable | null, tenantId: string, customerId: string, provider: string, card: SavedCard): Promise<boolean>;
  /** Soft-removes a card; whether there was one to remove. */
  remove(tenantId: string, id: string): Promise<boolean>;
  providerCustomerId(tenantId: string, customerId: string, provider: string): Promise<string | null>;
  /** Remembers the provider's customer id; the first one stored wins and is answered. */
  rememberProviderCustomer(tenantId: string, customerId: string, provider: string, providerCustomerId: string): Promise<string>;
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

/** payment_methods and provider_customers in Postgres. */
export class PaymentMethodRepo implements PaymentMethodStore {
  constructor(private readonly pool: Pool) {}

  async list(tenantId: string, customerId: string, provider?: string): Promise<PaymentMethod[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM payment_methods WHERE tenant_id = $1 AND customer_id = $2 AND removed_at IS NULL
          AND ($3::text IS NULL OR provider = $3) ORDER BY created_at DESC, id`,
      [tenantId, customerId, provider ?? null],
    );
    return rows.map(toMethod);
  }

  async get(tenantId: string, id: string): Promise<PaymentMethod | null> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM payment_methods WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
    return rows[0] ? toMethod(rows[0]) : null;
  }

  async insert(db: Queryable | null, tenantId: string, customerId: string, provider: string, card: SavedCard): Promise<boolean> {
    const { rowCount } = await (db ?? this.pool).query(
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

  async providerCustomerId(tenantId: string, customerId: string, provider: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ provider_customer_id: string }>(
      'SELECT provider_customer_id FROM provider_customers WHERE tenant_id = $1 AND customer_id = $2 AND provider = $3',
      [tenantId, customerId, provider],
    );
    return rows[0]?.provider_customer_id ?? null;
  }

  async rememberProviderCustomer(tenantId: string, customerId: string, provider: string, providerCustomerId: string): Promise<string> {
    const { rows } = await this.pool.query<{ provider_customer_id: string }>(
      `INSERT INTO provider_customers (tenant_id, customer_id, provider, provider_customer_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant_id, customer_id, provider) DO UPDATE SET provider_customer_id = provider_customers.provider_customer_id
       RETURNING provider_customer_id`,
      [tenantId, customerId, provider, providerCustomerId],
    );
    return rows[0]!.provider_customer_id;
  }
}
