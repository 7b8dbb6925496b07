import { randomUUID } from 'node:crypto';
import type { CustomerDef, SubscriptionDef } from '@tally/core';
import { catalogErrors } from '../errors.ts';
import type { CatalogService } from '../catalog/catalog-service.ts';
import type { Tx } from '../store.ts';
import { TtlCache } from './customer-context-cache.ts';
import { toCustomer, type CustomerStore } from './customer-repo.ts';
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

const key = (tenantId: string, customerId: string) => `${tenantId}\u0000${customerId}`;

/** Customers of a tenant and their live subscription, cached for the metering hot path. */
export class CustomerService {
  private readonly cache: TtlCache<CustomerContext | null>;
  private readonly changes: ChangeBus;

  constructor(
    private readonly store: CustomerStore,
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
    return this.cache.getOrLoad(key(tenantId, customerId), () => this.store.context(tenantId, customerId));
  }

  /** For track/check with customerData: the customer, created (with any auto-enabled free plan) when missing. */
  async ensure(tenantId: string, customerId: string, customerData?: CustomerData | null): Promise<CustomerContext> {
    const existing = await this.context(tenantId, customerId);
    if (existing) return existing;
    await this.store.transaction(async (tx) => {
      await this.insert(tx, tenantId, customerId, customerData ?? {});
    });
    await this.invalidate(tenantId, customerId);
    const created = await this.context(tenantId, customerId);
    if (!created) throw new Error(`customer ${customerId} vanished after creation`);
    return created;
  }

  /** POST /v1/customers: resolved by id, then by email; created when neither matches. */
  async upsert(tenantId: string, input: UpsertCustomerInput): Promise<CustomerDef> {
    const customer = await this.store.transaction(async (tx) => {
      const byId = input.id ? await this.store.lock(tx, tenantId, { id: input.id }) : null;
      const match = byId ?? (input.email ? await this.store.lock(tx, tenantId, { email: input.email }) : null);
      if (!match) {
        const id = input.id ?? `cus_${randomUUID().replace(/-/g, '')}`;
        await this.insert(tx, tenantId, id, input);
        const created = await this.store.lock(tx, tenantId, { id });
        if (!created) throw new Error(`customer ${id} not found after insert`);
        return created;
      }
      const updated = await this.store.update(tx, tenantId, match.id, input);
      if (updated === 'email_taken') throw catalogErrors.customer_email_taken(`another customer already has the email ${input.email}`);
      return updated;
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
  private async insert(tx: Tx, tenantId: string, id: string, data: CustomerData): Promise<void> {
    if (!(await this.store.insert(tx, tenantId, id, data))) return;
    const catalog = await this.catalog.snapshot(tenantId);
    const autoPlan = [...catalog.plans.values()].find((p) => p.autoEnable && !p.isAddon && p.priceMinor === 0n);
    if (autoPlan) {
      await this.store.subscribe(tx, tenantId, id, { id: autoPlan.id, status: autoPlan.trialDays > 0 ? 'trialing' : 'active', trialDays: autoPlan.trialDays });
    }
  }
}
