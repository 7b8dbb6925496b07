import type { PaymentProvider, SavedCard } from '@tally/payments';
import type { Tx } from '../store.ts';
import type { PaymentMethodStore } from './payment-method-repo.ts';

/** A saved card as the provider describes it, and whose it is. */
export interface PaymentMethod extends SavedCard {
  id: string;
  tenantId: string;
  customerId: string;
  provider: string;
  createdAt: Date;
}

/** Saved cards (payment_methods) and the provider-side customer of each Tally customer. */
export class PaymentMethods {
  constructor(private readonly store: PaymentMethodStore) {}

  list(tenantId: string, customerId: string, provider?: string): Promise<PaymentMethod[]> {
    return this.store.list(tenantId, customerId, provider);
  }

  /** The card charged off-session: the newest one saved with that provider. */
  async default(tenantId: string, customerId: string, provider: string): Promise<PaymentMethod | null> {
    return (await this.list(tenantId, customerId, provider))[0] ?? null;
  }

  get(tenantId: string, id: string): Promise<PaymentMethod | null> {
    return this.store.get(tenantId, id);
  }

  /** Saves a card once per provider method id (in the transaction `db`, or on its own with null); returns whether it was new. */
  save(db: Tx | null, tenantId: string, customerId: string, provider: string, card: SavedCard): Promise<boolean> {
    return this.store.insert(db, tenantId, customerId, provider, card);
  }

  remove(tenantId: string, id: string): Promise<boolean> {
    return this.store.remove(tenantId, id);
  }

  /** The customer's object at the provider, created once and remembered. */
  async providerCustomer(
    provider: PaymentProvider,
    tenantId: string,
    customer: { id: string; email: string | null; name: string | null },
  ): Promise<string> {
    const found = await this.store.providerCustomerId(tenantId, customer.id, provider.name);
    if (found) return found;
    const created = await provider.ensureCustomer({ tenantId, customerId: customer.id, email: customer.email, name: customer.name });
    // Two racing callers: the first insert wins and both use its id.
    return this.store.rememberProviderCustomer(tenantId, customer.id, provider.name, created);
  }
}
