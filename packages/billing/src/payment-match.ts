import type { PaidFacts } from '@tally/payments';
import { billingErrors } from './errors.ts';

/** What Tally asked to be paid for one reference (a purchase, or a plan's first period). */
export interface ExpectedPayment {
  reference: string;
  tenantId: string;
  /**
   * The checkout session Tally opened and stored for it (null: it opened none, so no
   * session can pay it). Omitted where Tally keeps no session id (plan checkouts): the
   * provider-side metadata must then name the reference.
   */
  checkoutId?: string | null;
  amountMinor: bigint;
  currency: string;
}

/**
 * The first way a provider's payment differs from what the reference asked
 * for, or null when it is that payment. A reference alone proves nothing: a
 * Stripe Payment Link, another integration on the same account or a session of
 * another purchase can carry any `client_reference_id`.
 */
export function paymentMismatch(expected: ExpectedPayment, paid: PaidFacts): string | null {
  if (expected.checkoutId !== undefined && paid.checkoutId !== expected.checkoutId) {
    return `checkout session ${paid.checkoutId} is not the one Tally opened for it (${expected.checkoutId ?? 'none'})`;
  }
  if (paid.reference !== expected.reference) return `the payment's metadata names reference ${paid.reference ?? '(none)'}`;
  if (paid.tenantId !== expected.tenantId) return `the payment's metadata names another tenant`;
  if (paid.amountMinor !== expected.amountMinor) {
    return `amount paid ${paid.amountMinor ?? '(unknown)'} is not the ${expected.amountMinor} asked (minor units)`;
  }
  if (paid.currency?.toUpperCase() !== expected.currency.toUpperCase()) {
    return `currency paid ${paid.currency ?? '(unknown)'} is not ${expected.currency.toUpperCase()}`;
  }
  return null;
}

/** 400: the provider is told the event was not taken (it may retry; nothing is recorded or granted). */
export const paymentMismatchError = (reference: string, why: string) =>
  billingErrors.payment_mismatch(`payment for ${reference} does not match it: ${why}; nothing was granted`, { details: { reference } });
