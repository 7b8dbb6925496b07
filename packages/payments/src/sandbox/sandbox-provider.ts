import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import type {
  ChargeInput,
  ChargeResult,
  CheckoutInput,
  HostedSession,
  PaidFacts,
  PaymentProvider,
  ProviderCustomerInput,
  ProviderEvent,
  RefundInput,
  RefundResult,
  SetupInput,
  WebhookHeaders,
} from '../provider.ts';
import { headerValue } from '../provider.ts';
import { invalidSignature, verifySignatureHeader } from '../signature.ts';
import { cardOutcome } from './cards.ts';
import { SANDBOX_SIGNATURE_HEADER, sandboxEventSchema } from './events.ts';
import { keyedId, sessionChargeKey, type SandboxSession, type SandboxStore } from './sandbox-store.ts';

export interface SandboxConfig {
  /** Tally's public URL: hosted pages are served under it. */
  publicUrl: string;
  webhookSecret: string;
  /**
   * Test knob: an off-session charge is recorded at once but answered only
   * after this delay, like a slow provider (lets a test kill the worker
   * between "charged" and "told it was charged").
   */
  chargeDelayMs: number;
}

/** The built-in provider: hosted pages served by Tally itself, test cards, signed webhooks. */
export class SandboxProvider implements PaymentProvider {
  readonly name = 'sandbox';
  /** No real money moves: test tenants only. */
  readonly environment = 'test' as const;

  constructor(
    private readonly store: SandboxStore,
    private readonly config: SandboxConfig,
  ) {}

  async ensureCustomer(_input: ProviderCustomerInput): Promise<string> {
    return `cus_sbx_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
  }

  async createCheckout(input: CheckoutInput): Promise<HostedSession> {
    const { name, quantity, unitAmountMinor, currency } = input.item;
    return this.openSession('cs_sbx', 'payment', input, { description: name, quantity, amountMinor: unitAmountMinor * BigInt(quantity), currency });
  }

  async setupCard(input: SetupInput): Promise<HostedSession> {
    return this.openSession('seti_sbx', 'setup', input, { description: 'Save a card for later payments', quantity: 1, amountMinor: 0n, currency: 'USD' });
  }

  /** A hosted page of ours (idempotent by the caller's key): a payment or a card set-up. */
  private async openSession(
    idPrefix: string,
    mode: SandboxSession['mode'],
    input: SetupInput,
    item: Pick<SandboxSession, 'description' | 'quantity' | 'amountMinor' | 'currency'>,
  ): Promise<HostedSession> {
    const session = await this.store.createSession({
      id: keyedId(idPrefix, input.tenantId, input.idempotencyKey),
      tenantId: input.tenantId,
      mode,
      reference: input.reference,
      customerRef: input.providerCustomerId,
      ...item,
      successUrl: input.successUrl,
      cancelUrl: input.cancelUrl,
    });
    return { id: session.id, url: this.pageUrl(session.id) };
  }

  async chargeSavedMethod(input: ChargeInput): Promise<ChargeResult> {
    const card = await this.store.card(input.tenantId, input.providerMethodId);
    if (!card || card.customerRef !== input.providerCustomerId) {
      return { status: 'declined', code: 'payment_method_missing', message: 'The saved card no longer exists.' };
    }
    const outcome = cardOutcome(card.number);
    const charge = await this.store.charge(null, input.tenantId, {
      idempotencyKey: input.idempotencyKey,
      amountMinor: input.amountMinor,
      currency: input.currency,
      cardId: card.id,
      status: outcome.ok ? 'succeeded' : 'declined',
      declineCode: outcome.ok ? null : outcome.code,
    });
    if (this.config.chargeDelayMs > 0) await sleep(this.config.chargeDelayMs);
    if (charge.status === 'succeeded') return { status: 'succeeded', chargeId: charge.id };
    const code = charge.declineCode ?? 'card_declined';
    const message = outcome.ok ? 'Your card was declined.' : outcome.message;
    return { status: 'declined', code, message, chargeId: charge.id };
  }

  async refund(input: RefundInput): Promise<RefundResult> {
    const refundId = await this.store.refund(input.tenantId, input);
    return { refundId, status: 'succeeded' };
  }

  async verifyAndParseWebhook(rawBody: string, headers: WebhookHeaders): Promise<ProviderEvent> {
    verifySignatureHeader(headerValue(headers, SANDBOX_SIGNATURE_HEADER), rawBody, this.config.webhookSecret);
    let json: unknown;
    try {
      json = JSON.parse(rawBody);
    } catch {
      throw invalidSignature('body is not JSON');
    }
    const parsed = sandboxEventSchema.safeParse(json);
    if (!parsed.success) throw invalidSignature('not a sandbox event');
    const { id, type, data } = parsed.data;
    const card = data.card
      ? {
          providerMethodId: data.card.id,
          providerCustomerId: data.card.customerRef,
          brand: data.card.brand,
          last4: data.card.last4,
          expMonth: data.card.expMonth,
          expYear: data.card.expYear,
        }
      : null;
    if (type === 'checkout.completed' && data.chargeId) {
      return { id, type, reference: data.reference, chargeId: data.chargeId, card, paid: await this.paidFacts(data.tenantId, data.sessionId, data.chargeId) };
    }
    if (type === 'setup.completed' && card) return { id, type, reference: data.reference, card };
    return { id, type: 'ignored', providerType: type };
  }

  /** From the sandbox's own rows, as a real provider answers from its records: the event's fields are only pointers. */
  private async paidFacts(tenantId: string, sessionId: string, chargeId: string): Promise<PaidFacts> {
    const [session, charge] = await Promise.all([this.store.session(sessionId), this.store.chargeById(tenantId, chargeId)]);
    const mine = session && session.tenantId === tenantId ? session : null;
    // Only the charge the hosted page made for this very session counts (keyed by sessionChargeKey).
    const collected = charge && charge.status === 'succeeded' && charge.idempotencyKey === sessionChargeKey(sessionId) ? charge : null;
    return {
      checkoutId: sessionId,
      amountMinor: collected?.amountMinor ?? null,
      currency: collected ? collected.currency.toUpperCase() : null,
      reference: mine?.reference ?? null,
      tenantId: mine?.tenantId ?? null,
    };
  }

  private pageUrl(sessionId: string): string {
    return `${this.config.publicUrl.replace(/\/$/, '')}/v1/sandbox/checkout/${sessionId}`;
  }
}
