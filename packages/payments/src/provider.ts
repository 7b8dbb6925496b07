/**
 * The payment provider port. Billing talks to every provider through this
 * interface only; `sandbox` (built in) and `stripe` implement it. Money is
 * bigint minor units. Every call that moves money takes an idempotency key:
 * the same key is the same charge/refund at the provider, so a retried job
 * can never charge twice.
 */
export interface LineItem {
  name: string;
  description?: string;
  unitAmountMinor: bigint;
  quantity: number;
  currency: string;
}

export interface ProviderCustomerInput {
  tenantId: string;
  customerId: string;
  email?: string | null;
  name?: string | null;
}

export interface CheckoutInput {
  tenantId: string;
  /** Tally's reference (purchase id); comes back in the webhook. */
  reference: string;
  providerCustomerId: string;
  item: LineItem;
  successUrl: string;
  cancelUrl: string;
  /** Offer to keep the card for later off-session charges. */
  saveCard: boolean;
  idempotencyKey: string;
  metadata?: Record<string, string>;
}

export interface SetupInput {
  tenantId: string;
  reference: string;
  providerCustomerId: string;
  successUrl: string;
  cancelUrl: string;
  idempotencyKey: string;
}

export interface HostedSession {
  id: string;
  url: string;
}

export interface ChargeInput {
  tenantId: string;
  reference: string;
  providerCustomerId: string;
  providerMethodId: string;
  amountMinor: bigint;
  currency: string;
  description: string;
  idempotencyKey: string;
  metadata?: Record<string, string>;
}

export type ChargeResult =
  | { status: 'succeeded'; chargeId: string }
  | { status: 'declined'; code: string; message: string; chargeId?: string };

export interface RefundInput {
  tenantId: string;
  chargeId: string;
  amountMinor: bigint;
  idempotencyKey: string;
}

export interface RefundResult {
  refundId: string;
  status: 'succeeded' | 'pending';
}

export interface SavedCard {
  providerMethodId: string;
  providerCustomerId: string;
  brand: string | null;
  last4: string | null;
  expMonth: number | null;
  expYear: number | null;
}

/**
 * What the provider itself says was paid, read from its own records (Stripe: the
 * signed session and the PaymentIntent fetched back; sandbox: its session and
 * charge rows), never from the reference alone. Billing compares it with the
 * purchase before granting anything (packages/billing/src/payment-match.ts).
 */
export interface PaidFacts {
  /** The provider's checkout session; Tally stored it on the purchase when it opened the session. */
  checkoutId: string;
  /** Money actually collected, minor units; null when the provider has no record of it. */
  amountMinor: bigint | null;
  /** Upper-case ISO 4217; null when unknown. */
  currency: string | null;
  /** Tally's reference and tenant as written into the provider's metadata when Tally created the session; null when absent. */
  reference: string | null;
  tenantId: string | null;
}

/** A verified provider webhook, reduced to what billing acts on. `id` is the provider's event id. */
export type ProviderEvent =
  | { id: string; type: 'checkout.completed'; reference: string; chargeId: string; card: SavedCard | null; paid: PaidFacts }
  | { id: string; type: 'checkout.failed'; reference: string; checkoutId: string | null; code: string; message: string }
  | { id: string; type: 'setup.completed'; reference: string; card: SavedCard }
  /** Money taken back on the provider's side (a refund made in its dashboard, a dispute): the charge it came from. */
  | { id: string; type: 'charge.reversed'; chargeId: string; reason: 'refunded' | 'disputed'; amountMinor: bigint; providerRef: string }
  | { id: string; type: 'ignored'; providerType: string };

export type WebhookHeaders = Record<string, string | string[] | undefined>;

/** Which tenants a provider may serve: its credentials move test money or live money, never both. */
export type PaymentEnvironment = 'test' | 'live';

export interface PaymentProvider {
  readonly name: string;
  /** sandbox: `test` (no real money); stripe: from its key (sk_test_ / sk_live_). */
  readonly environment: PaymentEnvironment;
  ensureCustomer(input: ProviderCustomerInput): Promise<string>;
  createCheckout(input: CheckoutInput): Promise<HostedSession>;
  chargeSavedMethod(input: ChargeInput): Promise<ChargeResult>;
  setupCard(input: SetupInput): Promise<HostedSession>;
  /** Throws AppError `invalid_signature` (400) for forged or stale (> 5 min) deliveries. */
  verifyAndParseWebhook(rawBody: string, headers: WebhookHeaders): Promise<ProviderEvent>;
  refund(input: RefundInput): Promise<RefundResult>;
  /**
   * Closes a hosted checkout session Tally gave up on (the purchase expired), so
   * it can no longer be paid: `expired` when it was closed now, `not_open` when
   * the provider says it is no longer open (paid, already expired, unknown).
   * Providers whose pages read Tally's purchase (the sandbox) have none.
   */
  expireCheckout?(checkoutId: string): Promise<'expired' | 'not_open'>;
}

export const headerValue = (headers: WebhookHeaders, name: string): string | undefined => {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
};
