import type { Pool } from '@tally/postgres';

/** A subscription waiting for its first payment through a hosted plan checkout, with the plan's price now. */
export interface PlanCheckoutDue {
  tenantId: string;
  customerId: string;
  priceMinor: bigint;
  currency: string;
}

export interface ProviderWebhookStore {
  /** Whether the provider's event was acted on already. */
  seen(provider: string, eventId: string): Promise<boolean>;
  /** Records an event acted on (a second record is a no-op). */
  record(provider: string, eventId: string, tenantId: string | null, type: string): Promise<void>;
  planCheckout(reference: string): Promise<PlanCheckoutDue | null>;
}

/** provider_events (and the subscription a plan checkout reference names) in Postgres. */
export class ProviderWebhookRepo implements ProviderWebhookStore {
  constructor(private readonly pool: Pool) {}

  async seen(provider: string, eventId: string): Promise<boolean> {
    const seen = await this.pool.query('SELECT 1 FROM provider_events WHERE provider = $1 AND event_id = $2', [provider, eventId]);
    return (seen.rowCount ?? 0) > 0;
  }

  async record(provider: string, eventId: string, tenantId: string | null, type: string): Promise<void> {
    await this.pool.query('INSERT INTO provider_events (provider, event_id, tenant_id, type) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
      provider,
      eventId,
      tenantId,
      type,
    ]);
  }

  async planCheckout(reference: string): Promise<PlanCheckoutDue | null> {
    const { rows } = await this.pool.query<{ tenant_id: string; customer_id: string; price_minor: bigint; currency: string }>(
      `SELECT s.tenant_id, s.customer_id, p.price_minor, p.currency
         FROM subscriptions s JOIN plans p ON p.id = s.plan_id AND p.tenant_id = s.tenant_id
        WHERE s.checkout_reference = $1`,
      [reference],
    );
    const r = rows[0];
    return r ? { tenantId: r.tenant_id, customerId: r.customer_id, priceMinor: r.price_minor, currency: r.currency } : null;
  }
}
