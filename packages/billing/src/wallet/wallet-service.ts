import { randomUUID } from 'node:crypto';
import type { SavedCard } from '@tally/payments';
import type { CatalogPort, CustomerPort } from '../ports.ts';
import type { TenantProviders } from '../tenant-providers.ts';
import type { Transactor } from '../store.ts';
import type { PaymentMethod, PaymentMethods } from './payment-methods.ts';
import type { WalletSetupStore } from './wallet-setup-repo.ts';
import { billingErrors } from '../errors.ts';
import { catalogErrors } from '@tally/catalog';

/** Called after a customer saved a new card (auto top-up disabled by a decline comes back on). */
export type CardSavedListener = (tenantId: string, customerId: string) => Promise<void>;

/** Cards on file: list, set up through the provider's hosted page, remove. */
export class WalletService {
  private readonly cardSaved: CardSavedListener[] = [];

  constructor(
    private readonly tx: Transactor,
    private readonly setups: WalletSetupStore,
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
    await this.setups.insert({ id: reference, tenantId, customerId, provider: name, checkoutId: session.id, url: session.url, callbackUrl: callbackUrl ?? null });
    return { url: session.url, reference };
  }

  /** The provider confirmed a set-up: keep the card. Returns the tenant, or null for an unknown reference. */
  /** `tenantId`: only that tenant's setup (an event from a tenant's own provider account), or null for any. */
  async completeSetup(providerName: string, reference: string, card: SavedCard, tenantId: string | null = null): Promise<string | null> {
    if (!/^[0-9a-f-]{36}$/i.test(reference)) return null;
    const saved = await this.tx.transaction(async (tx) => {
      const setup = await this.setups.complete(tx, reference, providerName, tenantId);
      if (!setup) return null;
      await this.methods.save(tx, setup.tenantId, setup.customerId, providerName, card);
      return setup;
    });
    if (!saved) return null;
    await this.notifyCardSaved(saved.tenantId, saved.customerId);
    return saved.tenantId;
  }

  async notifyCardSaved(tenantId: string, customerId: string): Promise<void> {
    for (const listener of this.cardSaved) await listener(tenantId, customerId);
  }

  async remove(tenantId: string, id: string): Promise<void> {
    if (!(await this.methods.remove(tenantId, id))) throw billingErrors.payment_method_not_found(`payment method ${id} does not exist`);
  }

  private async requireCustomer(tenantId: string, customerId: string) {
    const ctx = await this.customers.context(tenantId, customerId);
    if (!ctx) throw catalogErrors.customer_not_found(`customer "${customerId}" does not exist`);
    return ctx;
  }
}
