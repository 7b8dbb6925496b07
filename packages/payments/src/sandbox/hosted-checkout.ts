import { setTimeout as sleep } from 'node:timers/promises';
import { isWebUrl } from '../callback-url.ts';
import { signatureHeader } from '../signature.ts';
import { cardForSetup, cardOutcome, normalizeCardNumber } from './cards.ts';
import { SANDBOX_SIGNATURE_HEADER, type SandboxEvent } from './events.ts';
import { renderCheckoutPage, renderResultPage } from './page.ts';
import { sandboxId, sessionChargeKey, type SandboxSession, type SandboxStore } from './sandbox-store.ts';

export interface HostedCheckoutConfig {
  /** false: the sandbox is off in this deployment (registry.ts); every page is a 404 and nothing is redelivered. */
  enabled?: boolean;
  webhookSecret: string;
  /** Where the sandbox sends its webhooks: Tally's own provider webhook route. */
  webhookUrl: string;
  /** PURCHASE_EXPIRY_SECONDS: the page of a purchase unpaid this long says it expired and takes no payment. */
  purchaseExpirySeconds?: number;
}

export interface SubmitForm {
  cardNumber: string;
  expiry?: string;
  saveCard?: boolean;
}

export type PageAnswer = { status: number; html: string } | { status: 303; redirect: string };

const EXPIRED_PAGE: PageAnswer = {
  status: 410,
  html: renderResultPage('Checkout expired', 'This checkout expired before it was paid; nothing was charged. Start a new purchase from the merchant.'),
};

/**
 * The sandbox provider's hosted page, served by Tally under /v1/sandbox. Paying
 * records the charge (and the saved card) on the sandbox side, then notifies
 * Tally with a signed webhook exactly like an external provider would.
 *
 * The sandbox takes no real money, so it never serves a live tenant: a session
 * of one (opened before that rule, or by any other path) is refused before
 * anything is charged or sent (403), whatever the purchase row says.
 */
export class SandboxHostedCheckout {
  constructor(
    private readonly store: SandboxStore,
    private readonly config: HostedCheckoutConfig,
  ) {}

  async page(sessionId: string): Promise<PageAnswer> {
    const session = await this.openable(sessionId);
    if ('refused' in session) return session.refused;
    if (session.status !== 'open') return { status: 200, html: renderResultPage('Already paid', 'This checkout is complete.') };
    if (await this.expired(session)) return EXPIRED_PAGE;
    return { status: 200, html: renderCheckoutPage(session) };
  }

  async submit(sessionId: string, form: SubmitForm): Promise<PageAnswer> {
    const session = await this.openable(sessionId);
    if ('refused' in session) return session.refused;
    if (session.status !== 'open') return { status: 409, html: renderResultPage('Already paid', 'This checkout is complete.') };
    // Checked before charging: an expired purchase takes no money (and Tally's fulfilment would refuse it anyway).
    if (await this.expired(session)) return EXPIRED_PAGE;
    const outcome = session.mode === 'setup' ? cardForSetup(form.cardNumber) : cardOutcome(form.cardNumber);
    // A declined card leaves the session open, as hosted checkouts do: the buyer may try another card.
    if (!outcome.ok) return { status: 402, html: renderCheckoutPage(session, outcome.message) };

    const [expMonth, expYear] = parseExpiry(form.expiry);
    const event = await this.store.transaction(async (tx) => {
      // The guarded status change makes a double submit of the same page a no-op.
      if (!(await this.store.closeSession(tx, session.id, session.mode === 'payment' ? 'paid' : 'completed'))) return null;
      const keepCard = session.mode === 'setup' || form.saveCard === true;
      const card = keepCard
        ? {
            id: sandboxId('pm_sbx'),
            customerRef: session.customerRef,
            number: normalizeCardNumber(form.cardNumber),
            brand: outcome.brand,
            last4: outcome.last4,
            expMonth,
            expYear,
          }
        : null;
      if (card) await this.store.saveCard(tx, session.tenantId, card);
      let chargeId: string | undefined;
      if (session.mode === 'payment') {
        const charge = await this.store.charge(tx, session.tenantId, {
          idempotencyKey: sessionChargeKey(session.id),
          amountMinor: session.amountMinor,
          currency: session.currency,
          cardId: card?.id ?? null,
          status: 'succeeded',
          declineCode: null,
        });
        chargeId = charge.id;
      }
      const sent: SandboxEvent = {
        id: sandboxId('evt_sbx'),
        type: session.mode === 'payment' ? 'checkout.completed' : 'setup.completed',
        created: Math.floor(Date.now() / 1000),
        data: {
          tenantId: session.tenantId,
          sessionId: session.id,
          reference: session.reference,
          ...(chargeId ? { chargeId } : {}),
          ...(card ? { card: { id: card.id, customerRef: card.customerRef, brand: card.brand, last4: card.last4, expMonth, expYear } } : {}),
        },
      };
      await this.store.recordEvent(tx, session.tenantId, sent);
      return sent;
    });
    if (!event) return { status: 409, html: renderResultPage('Already paid', 'This checkout is complete.') };

    const delivered = await this.deliver(event);
    // Sessions opened before callback URLs were checked may hold any scheme: redirect only to a web URL.
    if (session.successUrl && isWebUrl(session.successUrl)) return { status: 303, redirect: session.successUrl };
    return {
      status: 200,
      html: renderResultPage(
        session.mode === 'payment' ? 'Payment succeeded' : 'Card saved',
        delivered ? 'You can close this page.' : 'Recorded; the merchant will be notified shortly.',
      ),
    };
  }

  /**
   * Like a real provider's retry schedule: events Tally has not acknowledged
   * (no row in provider_events, which the receiver writes after acting on an
   * event) are sent again, for up to 3 days. Run periodically by the workers.
   */
  async redeliverUnacknowledged(minAgeSeconds = 30, limit = 50): Promise<number> {
    if (this.config.enabled === false) return 0;
    let delivered = 0;
    for (const event of await this.store.unacknowledgedEvents(minAgeSeconds, limit)) if (await this.deliver(event, 1)) delivered++;
    return delivered;
  }

  /** The session, or the page refusing it: unknown or sandbox off (404), a live tenant's (403). */
  private async openable(sessionId: string): Promise<SandboxSession | { refused: PageAnswer }> {
    const missing = { refused: { status: 404, html: renderResultPage('Not found', 'This checkout session does not exist.') } };
    if (this.config.enabled === false) return missing;
    const session = await this.store.session(sessionId);
    if (!session) return missing;
    if ((await this.store.tenantEnvironment(session.tenantId)) !== 'test') {
      return { refused: { status: 403, html: renderResultPage('Not available', 'The sandbox takes no real money and cannot be used to pay a live merchant.') } };
    }
    return session;
  }

  /**
   * Whether the session's purchase expired or is overdue (awaiting payment
   * past the expiry). Read-only: billing makes it `expired` (and sends
   * `purchase.expired`) on its next read or sweep. Setup sessions and plan
   * checkouts have no purchase row: never expired here.
   */
  private async expired(session: SandboxSession): Promise<boolean> {
    if (session.mode !== 'payment') return false;
    return this.store.purchaseExpired(session.tenantId, session.reference, this.config.purchaseExpirySeconds ?? 86_400);
  }

  /** Sends a signed event to Tally, with a few quick retries (re-sending the same event id). */
  async deliver(event: SandboxEvent, attempts = 3): Promise<boolean> {
    const body = JSON.stringify(event);
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const res = await fetch(this.config.webhookUrl, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', [SANDBOX_SIGNATURE_HEADER]: signatureHeader(this.config.webhookSecret, body) },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        if (res.ok) return true;
      } catch {
        // network error: retry below
      }
      if (attempt < attempts) await sleep(200 * 4 ** (attempt - 1));
    }
    return false;
  }
}

function parseExpiry(expiry: string | undefined): [number, number] {
  const match = /^\s*(\d{1,2})\s*\/\s*(\d{2,4})\s*$/.exec(expiry ?? '');
  const now = new Date();
  if (!match) return [12, now.getUTCFullYear() + 3];
  const year = Number(match[2]);
  return [Number(match[1]), year < 100 ? 2000 + year : year];
}

export type { SandboxSession };
