import { randomUUID } from 'node:crypto';
import type { CustomerDef, SubscriptionDef } from '@tally/core';
import { asDependencyError, withTransaction, type Pool } from '@tally/postgres';
import type { Transactor, Tx } from '../store.ts';
import type { CustomerContext, CustomerData, UpsertCustomerInput } from './customer-service.ts';

export interface CustomerRow {
  id: string;
  email: string | null;
  name: string | null;
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

export const toCustomer = (r: CustomerRow): CustomerDef => ({
  id: r.id,
  email: r.email,
  name: r.name,
  metadata: r.metadata ?? {},
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Customers (and the free plan a new one starts on) as CustomerService reads and writes them. */
export interface CustomerStore extends Transactor {
  /** The customer and its live base-plan subscription (the newest anchor), or null. */
  context(tenantId: string, customerId: string): Promise<CustomerContext | null>;
  /** Inserts a customer (nothing when the id exists); an email another customer holds is dropped. True when inserted. */
  insert(tx: Tx, tenantId: string, id: string, data: CustomerData): Promise<boolean>;
  /** Starts a new customer on a free plan, now (with its trial when it has trial days). */
  subscribe(tx: Tx, tenantId: string, customerId: string, plan: { id: string; status: 'active' | 'trialing'; trialDays: number }): Promise<void>;
  /** The customer row by id or by email (case-insensitive), locked until the transaction ends. */
  lock(tx: Tx, tenantId: string, by: { id: string } | { email: string }): Promise<CustomerRow | null>;
  /**
   * Sets the fields the input names (email only when given) and bumps the
   * context version; 'email_taken' when another customer holds the email
   * (the transaction is then aborted: the caller must throw).
   */
  update(tx: Tx, tenantId: string, id: string, input: UpsertCustomerInput): Promise<CustomerRow | 'email_taken'>;
}

const UNIQUE_VIOLATION = '23505';

/** customers (and subscriptions of new customers) in Postgres. */
export class CustomerRepo implements CustomerStore {
  constructor(private readonly pool: Pool) {}

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, fn);
  }

  async context(tenantId: string, customerId: string): Promise<CustomerContext | null> {
    try {
      const { rows } = await this.pool.query<
        CustomerRow & { context_version: string; sub_id: string | null; plan_slug: string | null; status: SubscriptionDef['status'] | null; anchor_at: Date | null; trial_ends_at: Date | null }
      >(
        `SELECT c.id, c.email, c.name, c.metadata, c.created_at, c.updated_at, c.context_version,
                s.id AS sub_id, s.plan_slug, s.status, s.anchor_at, s.trial_ends_at
           FROM customers c
           LEFT JOIN LATERAL (
             SELECT s.id, p.slug AS plan_slug, s.status, s.anchor_at, s.trial_ends_at
               FROM subscriptions s JOIN plans p ON p.id = s.plan_id AND p.tenant_id = s.tenant_id
              WHERE s.tenant_id = c.tenant_id AND s.customer_id = c.id
                AND s.status IN ('active', 'trialing', 'past_due') AND NOT p.is_addon
              ORDER BY s.anchor_at DESC, s.created_at DESC
              LIMIT 1
           ) s ON true
          WHERE c.tenant_id = $1 AND c.id = $2`,
        [tenantId, customerId],
      );
      const r = rows[0];
      if (!r) return null;
      const subscription: SubscriptionDef | null =
        r.sub_id && r.plan_slug && r.status && r.anchor_at
          ? { id: r.sub_id, planSlug: r.plan_slug, status: r.status, anchorAt: r.anchor_at, trialEndsAt: r.trial_ends_at }
          : null;
      return { customer: toCustomer(r), subscription, version: BigInt(r.context_version) };
    } catch (err) {
      throw asDependencyError(err);
    }
  }

  async insert(db: Tx, tenantId: string, id: string, data: CustomerData): Promise<boolean> {
    const params = [tenantId, id, data.name ?? null, JSON.stringify(data.metadata ?? {})];
    let inserted: number | null;
    try {
      await db.query('SAVEPOINT customer_insert');
      ({ rowCount: inserted } = await db.query(
        `INSERT INTO customers (tenant_id, id, email, name, metadata) VALUES ($1, $2, $5, $3, $4::jsonb)
         ON CONFLICT (tenant_id, id) DO NOTHING`,
        [...params, data.email ?? null],
      ));
      await db.query('RELEASE SAVEPOINT customer_insert');
    } catch (err) {
      if ((err as { constraint?: string }).constraint !== 'customers_email') throw err;
      await db.query('ROLLBACK TO SAVEPOINT customer_insert');
      ({ rowCount: inserted } = await db.query(
        `INSERT INTO customers (tenant_id, id, email, name, metadata) VALUES ($1, $2, NULL, $3, $4::jsonb)
         ON CONFLICT (tenant_id, id) DO NOTHING`,
        params,
      ));
    }
    return !!inserted;
  }

  async subscribe(db: Tx, tenantId: string, customerId: string, plan: { id: string; status: 'active' | 'trialing'; trialDays: number }): Promise<void> {
    await db.query(
      `INSERT INTO subscriptions (id, tenant_id, customer_id, plan_id, status, anchor_at, trial_ends_at)
       VALUES ($1, $2, $3, $4, $5, now(), CASE WHEN $6::int > 0 THEN now() + make_interval(days => $6::int) END)`,
      [randomUUID(), tenantId, customerId, plan.id, plan.status, plan.trialDays],
    );
  }

  async lock(db: Tx, tenantId: string, by: { id: string } | { email: string }): Promise<CustomerRow | null> {
    const [where, value] = 'id' in by ? ['id = $2', by.id] : ['lower(email) = lower($2)', by.email];
    const { rows } = await db.query<CustomerRow>(
      `SELECT id, email, name, metadata, created_at, updated_at FROM customers WHERE tenant_id = $1 AND ${where} FOR UPDATE`,
      [tenantId, value],
    );
    return rows[0] ?? null;
  }

  async update(db: Tx, tenantId: string, id: string, input: UpsertCustomerInput): Promise<CustomerRow | 'email_taken'> {
    try {
      const { rows } = await db.query<CustomerRow>(
        `UPDATE customers
            SET email = COALESCE($3, email),
                name = CASE WHEN $4::boolean THEN $5 ELSE name END,
                metadata = CASE WHEN $6::boolean THEN $7::jsonb ELSE metadata END,
                updated_at = now(), context_version = context_version + 1
          WHERE tenant_id = $1 AND id = $2
          RETURNING id, email, name, metadata, created_at, updated_at`,
        [tenantId, id, input.email ?? null, input.name !== undefined, input.name ?? null, input.metadata !== undefined, JSON.stringify(input.metadata ?? {})],
      );
      return rows[0] as CustomerRow;
    } catch (err) {
      const e = err as { code?: string; constraint?: string };
      if (e?.code === UNIQUE_VIOLATION && e.constraint === 'customers_email') return 'email_taken';
      throw err;
    }
  }
}
