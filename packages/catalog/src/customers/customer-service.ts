import { randomUUID } from 'node:crypto';
import type { CustomerDef, SubscriptionDef } from '@tally/core';
import { asDependencyError, withTransaction, type Pool, type Queryable } from '@tally/postgres';
import { catalogErrors } from '../errors.ts';
import type { CatalogService } from '../catalog/catalog-service.ts';
import { TtlCache } from './customer-context-cache.ts';
import { noChangeBus, type ChangeBus } from '../changes.ts';

export interface CustomerContext {
  customer: CustomerDef;
  /** The customer's live (active, trialing or past_due) base-plan subscription, if any. */
  subscription: SubscriptionDef | null;
  /** customers.context_version: bumped with every change to the customer's plan state. */
  version: bigint;
}

/** What an app may say about a customer when it first names it (Owostack's `customerData`). */
export interface CustomerData {
  email?: string | null;
  name?: string | null;
  metadata?: Record<string, unknown> | null;
}

export interface UpsertCustomerInput {
  id?: string;
  /** Optional: Owostack's SDK creates a customer with `{ id }` alone. */
  email?: string;
  name?: string | null;
  metadata?: Record<string, unknown> | null;
}

export interface CustomerServiceOptions {
  /** How long a customer's context is fresh (writes in this process invalidate at once); then served stale while reloaded. */
  ttlMs?: number;
  /** Tells every process about a change (and hears theirs); without it only this process's cache is dropped. */
  changes?: ChangeBus;
  /** Customers held (least recently stored dropped first past it); default 100,000. */
  maxEntries?: number;
}

export interface CustomerRow {
  id: string;
  email: string | null;
  name: string | null;
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

const UNIQUE_VIOLATION = '23505';
const key = (tenantId: string, customerId: string) => `${tenantId}\u0000${customerId}`;
const toCustomer = (r: CustomerRow): CustomerDef => ({
  id: r.id,
  email: r.email,
  name: r.name,
  metadata: r.metadata ?? {},
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Customers of a tenant and their live subscription, cached for the metering hot path. */
export class CustomerService {
  private readonly cache: TtlCache<CustomerContext | null>;
  private readonly changes: ChangeBus;

  constructor(
    private readonly pool: Pool,
    private readonly catalog: CatalogService,
    options: CustomerServiceOptions = {},
  ) {
    this.cache = new TtlCache(options.ttlMs ?? 1000, options.maxEntries);
    this.changes = options.changes ?? noChangeBus;
    this.changes.subscribe((c) => {
      if (c.kind === 'customer') this.cache.delete(key(c.tenantId, c.customerId));
      else if (c.kind === 'reset') this.cache.clear();
    });
  }

  /** The customer and its live subscription, or null when the tenant has no such customer. */
  /**
   * Past the TTL the cached context is still answered while it is reloaded in
   * the background (see TtlCache.getOrLoad): the metering hot path waits on
   * Postgres only for a customer it has not seen (in the last minute).
   */
  async context(tenantId: string, customerId: string): Promise<CustomerContext | null> {
    return this.cache.getOrLoad(key(tenantId, customerId), () => this.load(this.pool, tenantId, customerId));
  }

  /** For track/check with customerData: the customer, created (with any auto-enabled free plan) when missing. */
  async ensure(tenantId: string, customerId: string, customerData?: CustomerData | null): Promise<CustomerContext> {
    const existing = await this.context(tenantId, customerId);
    if (existing) return existing;
    await this.tx(async (db) => {
      await this.insert(db, tenantId, customerId, customerData ?? {});
    });
    await this.invalidate(tenantId, customerId);
    const created = await this.context(tenantId, customerId);
    if (!created) throw new Error(`customer ${customerId} vanished after creation`);
    return created;
  }

  /** POST /v1/customers: resolved by id, then by email; created when neither matches. */
  async upsert(tenantId: string, input: UpsertCustomerInput): Promise<CustomerDef> {
    const customer = await this.tx(async (db) => {
      const byId = input.id ? await this.row(db, tenantId, 'id = $2', input.id) : null;
      const match = byId ?? (input.email ? await this.row(db, tenantId, 'lower(email) = lower($2)', input.email) : null);
      if (!match) {
        const id = input.id ?? `cus_${randomUUID().replace(/-/g, '')}`;
        await this.insert(db, tenantId, id, input);
        const created = await this.row(db, tenantId, 'id = $2', id);
        if (!created) throw new Error(`customer ${id} not found after insert`);
        return created;
      }
      const { rows } = await db.query<CustomerRow>(
        `UPDATE customers
            SET email = COALESCE($3, email),
                name = CASE WHEN $4::boolean THEN $5 ELSE name END,
                metadata = CASE WHEN $6::boolean THEN $7::jsonb ELSE metadata END,
                updated_at = now(), context_version = context_version + 1
          WHERE tenant_id = $1 AND id = $2
          RETURNING id, email, name, metadata, created_at, updated_at`,
        [
          tenantId,
          match.id,
          input.email ?? null,
          input.name !== undefined,
          input.name ?? null,
          input.metadata !== undefined,
          JSON.stringify(input.metadata ?? {}),
        ],
      );
      return rows[0] as CustomerRow;
    }).catch((err: { code?: string; constraint?: string }) => {
      if (err?.code === UNIQUE_VIOLATION && err.constraint === 'customers_email') {
        throw catalogErrors.customer_email_taken(`another customer already has the email ${input.email}`);
      }
      throw err;
    });
    await this.invalidate(tenantId, customer.id);
    return toCustomer(customer);
  }

  /**
   * After a committed change to a customer's state: drops it here at once and
   * tells every other process (resolves once the channel has the message).
   */
  async invalidate(tenantId: string, customerId: string): Promise<void> {
    this.cache.delete(key(tenantId, customerId));
    await this.changes.publish({ kind: 'customer', tenantId, customerId }).catch(() => {});
  }

  /**
   * Inserts a customer (no-op when the id exists) and subscribes it to the
   * tenant's auto-enabled free plan, if any. An email another customer already
   * uses is dropped rather than failing the event that named the customer.
   */
  private async insert(db: Queryable, tenantId: string, id: string, data: CustomerData): Promise<void> {
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
    if (!inserted) return;
    const catalog = await this.catalog.snapshot(tenantId);
    const autoPlan = [...catalog.plans.values()].find((p) => p.autoEnable && !p.isAddon && p.priceMinor === 0n);
    if (autoPlan) {
      await db.query(
        `INSERT INTO subscriptions (id, tenant_id, customer_id, plan_id, status, anchor_at, trial_ends_at)
         VALUES ($1, $2, $3, $4, $5, now(), CASE WHEN $6::int > 0 THEN now() + make_interval(days => $6::int) END)`,
        [randomUUID(), tenantId, id, autoPlan.id, autoPlan.trialDays > 0 ? 'trialing' : 'active', autoPlan.trialDays],
      );
    }
  }

  private async row(db: Queryable, tenantId: string, where: string, value: string): Promise<CustomerRow | null> {
    const { rows } = await db.query<CustomerRow>(
      `SELECT id, email, name, metadata, created_at, updated_at FROM customers WHERE tenant_id = $1 AND ${where} FOR UPDATE`,
      [tenantId, value],
    );
    return rows[0] ?? null;
  }

  private async load(db: Queryable, tenantId: string, customerId: string): Promise<CustomerContext | null> {
    try {
      const { rows } = await db.query<
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

  private tx<T>(fn: (db: Queryable) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, fn);
  }
}
