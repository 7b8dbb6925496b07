import Stripe from 'stripe';
import { paymentErrors } from '../errors.ts';
import type {
  ChargeInput,
  ChargeResult,
  CheckoutInput,
  HostedSession,
  PaidFacts,
  PaymentEnvironment,
  PaymentProvider,
  ProviderCustomerInput,
  ProviderEvent,
  RefundInput,
  RefundResult,
  SavedCard,
  SetupInput,
  WebhookHeaders,
} from '../provider.ts';
import { headerValue } from '../provider.ts';
import { invalidSignature, SIGNATURE_TOLERANCE_SECONDS } from '../signature.ts';

export interface StripeConfig {
  secretKey: string;
  webhookSecret: string;
  /** Override of https://api.stripe.com (tests point it at a local server). */
  apiBase?: string;
}

const toStripeAmount = (minor: bigint): number => {
  if (minor > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('amount too large for Stripe');
  return Number(minor);
};

/** Connection trouble, rate limits and Stripe's 5xx are worth retrying; the rest is not. */
function asProviderError(err: unknown): unknown {
  const type = (err as { type?: string } | null)?.type;
  if (type === 'StripeConnectionError' || type === 'StripeAPIError' || type === 'StripeRateLimitError') {
    return paymentErrors.provider_unavailable(`stripe: ${(err as Error).message}`, { cause: err });
  }
  return err;
}

/**
 * Stripe through its official package: Checkout Sessions for hosted payment
 * and card set-up, PaymentIntents confirmed off-session for a saved card,
 * refunds, and `webhooks.constructEvent` for signature checks. Every write
 * carries Tally's idempotency key, so Stripe itself refuses a second charge.
 */
export class StripeProvider implements PaymentProvider {
  readonly name = 'stripe';
  readonly environment: PaymentEnvironment;
  private readonly stripe: Stripe;

  constructor(private readonly config: StripeConfig) {
    const kind = /^sk_(test|live)_/.exec(config.secretKey)?.[1];
    if (kind !== 'test' && kind !== 'live') throw new Error('a Stripe secret key starts with sk_test_ or sk_live_');
    // An empty secret would make constructEvent accept anything signed with "" (anyone can): never build that.
    if (!config.webhookSecret) throw new Error('a Stripe webhook signing secret is required');
    this.environment = kind;
    const base = config.apiBase ? new URL(config.apiBase) : null;
    this.stripe = new Stripe(config.secretKey, {
      maxNetworkRetries: 2,
      timeout: 20_000,
      ...(base
        ? { host: base.hostname, port: base.port || (base.protocol === 'http:' ? 80 : 443), protocol: base.protocol === 'http:' ? 'http' : 'https' }
        : {}),
    });
  }

  async ensureCustomer(input: ProviderCustomerInput): Promise<string> {
    try {
      const customer = await this.stripe.customers.create(
        {
          ...(input.email ? { email: input.email } : {}),
          ...(input.name ? { name: input.name } : {}),
          metadata: { tally_tenant: input.tenantId, tally_customer: input.customerId },
        },
        { idempotencyKey: `tally-customer-${input.tenantId}-${input.customerId}` },
      );
      return customer.id;
    } catch (err) {
      throw asProviderError(err);
    }
  }

  async createCheckout(input: CheckoutInput): Promise<HostedSession> {
    const metadata = { ...(input.metadata ?? {}), tally_reference: input.reference, tally_tenant: input.tenantId };
    try {
      const session = await this.stripe.checkout.sessions.create(
        {
          mode: 'payment',
          customer: input.providerCustomerId,
          client_reference_id: input.reference,
          line_items: [
            {
              quantity: input.item.quantity,
              price_data: {
                currency: input.item.currency.toLowerCase(),
                unit_amount: toStripeAmount(input.item.unitAmountMinor),
                product_data: { name: input.item.name, ...(input.item.description ? { description: input.item.description } : {}) },
              },
            },
          ],
          success_url: input.successUrl,
          cancel_url: input.cancelUrl,
          metadata,
          payment_intent_data: { metadata, ...(input.saveCard ? { setup_future_usage: 'off_session' as const } : {}) },
        },
        { idempotencyKey: input.idempotencyKey },
      );
      if (!session.url) throw paymentErrors.provider_error('stripe returned a checkout session without a url');
      return { id: session.id, url: session.url };
    } catch (err) {
      throw asProviderError(err);
    }
  }

  async setupCard(input: SetupInput): Promise<HostedSession> {
    try {
      const session = await this.stripe.checkout.sessions.create(
        {
          mode: 'setup',
          customer: input.providerCustomerId,
          client_reference_id: input.reference,
          payment_method_types: ['card'],
          success_url: input.successUrl,
          cancel_url: input.cancelUrl,
          metadata: { tally_reference: input.reference, tally_tenant: input.tenantId },
        },
        { idempotencyKey: input.idempotencyKey },
      );
      if (!session.url) throw paymentErrors.provider_error('stripe returned a setup session without a url');
      return { id: session.id, url: session.url };
    } catch (err) {
      throw asProviderError(err);
    }
  }

  async chargeSavedMethod(input: ChargeInput): Promise<ChargeResult> {
    try {
      const intent = await this.stripe.paymentIntents.create(
        {
          amount: toStripeAmount(input.amountMinor),
          currency: input.currency.toLowerCase(),
          customer: input.providerCustomerId,
          payment_method: input.providerMethodId,
          off_session: true,
          confirm: true,
          description: input.description,
          metadata: { ...(input.metadata ?? {}), tally_reference: input.reference, tally_tenant: input.tenantId },
        },
        { idempotencyKey: input.idempotencyKey },
      );
      if (intent.status === 'succeeded') return { status: 'succeeded', chargeId: intent.id };
      if (intent.status === 'processing') {
        // Not final yet: retry the job later with the same idempotency key.
        throw paymentErrors.charge_processing(`payment ${intent.id} is still processing`);
      }
      return { status: 'declined', code: 'authentication_required', message: `The payment needs the customer (status ${intent.status}).`, chargeId: intent.id };
    } catch (err) {
      const e = err as { type?: string; code?: string; decline_code?: string; message?: string; payment_intent?: { id?: string } };
      if (e?.type === 'StripeCardError') {
        return {
          status: 'declined',
          code: e.decline_code ?? e.code ?? 'card_declined',
          message: e.message ?? 'Your card was declined.',
          ...(e.payment_intent?.id ? { chargeId: e.payment_intent.id } : {}),
        };
      }
      throw asProviderError(err);
    }
  }

  async refund(input: RefundInput): Promise<RefundResult> {
    try {
      const refund = await this.stripe.refunds.create(
        { payment_intent: input.chargeId, amount: toStripeAmount(input.amountMinor), metadata: { tally_tenant: input.tenantId } },
        { idempotencyKey: input.idempotencyKey },
      );
      if (refund.status === 'failed' || refund.status === 'canceled') {
        throw paymentErrors.refund_failed(`stripe refund ${refund.id} ${refund.status}`);
      }
      return { refundId: refund.id, status: refund.status === 'succeeded' ? 'succeeded' : 'pending' };
    } catch (err) {
      throw asProviderError(err);
    }
  }

  async expireCheckout(sessionId: string): Promise<'expired' | 'not_open'> {
    try {
      await this.stripe.checkout.sessions.expire(sessionId);
      return 'expired';
    } catch (err) {
      const e = err as { type?: string; statusCode?: number };
      // 400: the session is no longer open (completed or already expired); 404: this account does not know it
      if (e?.type === 'StripeInvalidRequestError' && (e.statusCode === 400 || e.statusCode === 404)) return 'not_open';
      throw asProviderError(err);
    }
  }

  async verifyAndParseWebhook(rawBody: string, headers: WebhookHeaders): Promise<ProviderEvent> {
    const signature = headerValue(headers, 'stripe-signature');
    if (!signature) throw invalidSignature('missing Stripe-Signature header');
    let event: Stripe.Event;
    try {
      event = this.stripe.webhooks.constructEvent(rawBody, signature, this.config.webhookSecret, SIGNATURE_TOLERANCE_SECONDS);
    } catch (err) {
      throw invalidSignature(`stripe: ${(err as Error).message}`);
    }
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.async_payment_succeeded':
        return this.completedSession(event.id, event.data.object);
      case 'checkout.session.async_payment_failed':
      case 'checkout.session.expired': {
        const session = event.data.object;
        if (!session.client_reference_id) return { id: event.id, type: 'ignored', providerType: event.type };
        const expired = event.type === 'checkout.session.expired';
        return {
          id: event.id,
          type: 'checkout.failed',
          reference: session.client_reference_id,
          checkoutId: session.id ?? null,
          code: expired ? 'checkout_expired' : 'payment_failed',
          message: expired ? 'The checkout expired before payment.' : 'The payment failed.',
        };
      }
      case 'charge.refunded': {
        const charge = event.data.object;
        const intent = typeof charge.payment_intent === 'string' ? charge.payment_intent : charge.payment_intent?.id;
        if (!intent) return { id: event.id, type: 'ignored', providerType: event.type };
        return { id: event.id, type: 'charge.reversed', chargeId: intent, reason: 'refunded', amountMinor: BigInt(charge.amount_refunded ?? 0), providerRef: charge.id };
      }
      case 'charge.dispute.created': {
        const dispute = event.data.object;
        const intent = typeof dispute.payment_intent === 'string' ? dispute.payment_intent : dispute.payment_intent?.id;
        if (!intent) return { id: event.id, type: 'ignored', providerType: event.type };
        return { id: event.id, type: 'charge.reversed', chargeId: intent, reason: 'disputed', amountMinor: BigInt(dispute.amount ?? 0), providerRef: dispute.id };
      }
      default:
        return { id: event.id, type: 'ignored', providerType: event.type };
    }
  }

  private async completedSession(eventId: string, session: Stripe.Checkout.Session): Promise<ProviderEvent> {
    const reference = session.client_reference_id;
    if (!reference) return { id: eventId, type: 'ignored', providerType: 'checkout.session.completed' };
    try {
      if (session.mode === 'setup') {
        const setupId = typeof session.setup_intent === 'string' ? session.setup_intent : session.setup_intent?.id;
        if (!setupId) return { id: eventId, type: 'ignored', providerType: 'checkout.session.completed' };
        const setup = await this.stripe.setupIntents.retrieve(setupId, { expand: ['payment_method'] });
        const card = cardOf(setup.payment_method, setup.customer);
        if (!card) return { id: eventId, type: 'ignored', providerType: 'checkout.session.completed' };
        return { id: eventId, type: 'setup.completed', reference, card };
      }
      // Paid later (bank debits) arrives as async_payment_succeeded; only act once it is paid.
      if (session.payment_status !== 'paid') return { id: eventId, type: 'ignored', providerType: 'checkout.session.completed' };
      const intentId = typeof session.payment_intent === 'string' ? session.payment_intent : session.payment_intent?.id;
      if (!intentId) return { id: eventId, type: 'ignored', providerType: 'checkout.session.completed' };
      // Fetched back from Stripe: what was collected, in which currency, for which of our sessions.
      const intent = await this.stripe.paymentIntents.retrieve(intentId, { expand: ['payment_method'] });
      const card = intent.setup_future_usage === 'off_session' ? cardOf(intent.payment_method, intent.customer) : null;
      const paid: PaidFacts = {
        checkoutId: session.id,
        amountMinor: typeof intent.amount_received === 'number' ? BigInt(intent.amount_received) : null,
        currency: typeof intent.currency === 'string' ? intent.currency.toUpperCase() : null,
        reference: intent.metadata?.tally_reference ?? null,
        tenantId: intent.metadata?.tally_tenant ?? null,
      };
      return { id: eventId, type: 'checkout.completed', reference, chargeId: intent.id, card, paid };
    } catch (err) {
      throw asProviderError(err);
    }
  }
}

function cardOf(
  method: string | Stripe.PaymentMethod | null,
  customer: string | Stripe.Customer | Stripe.DeletedCustomer | null,
): SavedCard | null {
  if (!method || typeof method === 'string') return null;
  const customerId = typeof customer === 'string' ? customer : (customer?.id ?? (typeof method.customer === 'string' ? method.customer : method.customer?.id));
  if (!customerId) return null;
  return {
    providerMethodId: method.id,
    providerCustomerId: customerId,
    brand: method.card?.brand ?? null,
    last4: method.card?.last4 ?? null,
    expMonth: method.card?.exp_month ?? null,
    expYear: method.card?.exp_year ?? null,
  };
}
