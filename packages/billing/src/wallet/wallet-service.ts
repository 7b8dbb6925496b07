import { randomUUID } from 'node:crypto';
import type { SavedCard } from '@tally/payments';
import { withTransaction, type Pool } from '@tally/postgres';
import { notFound } from '@tally/runtime';
import type { CatalogPort, CustomerPort } from '../ports.ts';
import type { TenantProviders } from '../tenant-providers.ts';
import type { PaymentMethod, PaymentMethods } from './payment-methods.ts';

/** Called after a customer saved a new card (auto top-up disabled by a decline comes back on). */
export type CardSavedListener = (tenantId: string, customerId: string) => Promise<void>;

/** Cards on file: list, set up through the provider's hosted page, remove. */
export class WalletService {
  private readonly cardSaved: CardSavedListener[] = [];

  constructor(
    private readonly pool: Pool,
    private readonly methods: PaymentMethods,
    private readonly providers: TenantProviders,
    private readonly catalog: CatalogPort,
    private readonly customers: CustomerPort,
    private readonly returnUrl: (reference: string) => string,
  ) {}

  onCardSaved(listener: CardSavedListener): void {
    this.cardSaved.push(listener);
  }

  async wallet(tenantId: string, customerId: string): Promise<{ hasCard: boolean; card: PaymentMethod | null; methods: PaymentMethod[] }> {
    await this.requireCustomer(tenantId, customerId);
    const methods = await this.methods.list(tenantId, customerId);
    return { hasCard: methods.length > 0, card: methods[0] ?? null, methods };
  }

  async setup(tenantId: string, customerId: string, providerName?: string, callbackUrl?: string): Promise<{ url: string; reference: string }> {
    const ctx = await this.requireCustomer(tenantId, customerId);
    const name = providerName ?? (await this.catalog.snapshot(tenantId)).defaultProvider ?? 'sandbox';
    const provider = await this.providers.forTenant(tenantId, name);
    const reference = randomUUID();
    const providerCustomerId = await this.methods.providerCustomer(provider, tenantId, {
      id: customerId,
      email: ctx.customer.email,
      name: ctx.customer.name,
    });
    const back = callbackUrl ?? this.returnUrl(reference);
    const session = await provider.setupCard({
      tenantId,
      reference,
      providerCustomerId,
      successUrl: back,
      cancelUrl: back,
      idempotencyKey: `tally_setup_${reference}`,
    });
    await this.pool.query(
      'INSERT INTO wallet_setups (id, tenant_id, customer_id, provider, checkout_id, url, callback_url) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [reference, tenantId, customerId, name, session.id, session.url, callbackUrl ?? null],
    );
    return { url: session.url, reference };
  }

  /** The provider confirmed a set-up: keep the card. Returns the tenant, or null for an unknown reference. */
  /** `tenantId`: only that tenant's setup (an event from a tenant's own provider account), or null for any. */
  async completeSetup(providerName: string, reference: string, card: SavedCard, tenantId: string | null = null): Promise<string | null> {
    if (!/^[0-9a-f-]{36}$/i.test(reference)) return null;
    const saved = await withTransaction(this.pool, async (tx) => {
      const { rows } = await tx.query<{ tenant_id: string; customer_id: string }>(
        `UPDATE wallet_setups SET status = 'completed' WHERE id = $1 AND provider = $2 AND ($3::uuid IS NULL OR tenant_id = $3::uuid) RETURNING tenant_id, customer_id`,
        [reference, providerName, tenantId],
      );
      const setup = rows[0];
      if (!setup) return null;
      await this.methods.save(tx, setup.tenant_id, setup.customer_id, providerName, card);
      return setup;
    });
    if (!saved) return null;
    await this.notifyCardSaved(saved.tenant_id, saved.customer_id);
    return saved.tenant_id;
  }

  async notifyCardSaved(tenantId: string, customerId: string): Promise<void> {
    for (const listener of this.cardSaved) await listener(tenantId, customerId);
  }

  async remove(tenantId: string, id: string): Promise<void> {
    if (!(await this.methods.remove(tenantId, id))) throw notFound('payment_method_not_found', `payment method ${id} does not exist`);
  }

  private async requireCustomer(tenantId: string, customerId: string) {
    const ctx = await this.customers.context(tenantId, customerId);
    if (!ctx) throw notFound('customer_not_found', `customer "${customerId}" does not exist`);
    return ctx;
  }
}
