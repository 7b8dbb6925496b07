import { defineErrors } from '@tally/runtime';

/**
 * Billing's error codes: purchases, refunds, the wallet, outbound webhooks, alerts and auto top-up.
 * Declared once here (status, retryable, meaning); a throw site names only the
 * code and the message. docs/errors.md and the OpenAPI document list them, and
 * apps/api/src/http/errors-catalogues.test.ts fails when they disagree.
 */
export const billingErrors = defineErrors({
  currency_mismatch: { status: 400, retryable: false, meaning: 'the currency asked for differs from the pack or plan price currency' },
  payment_mismatch: { status: 400, retryable: false, meaning: 'a provider confirmed a payment that does not match the purchase (amount, currency, customer); nothing granted' },
  purchase_not_found: { status: 404, retryable: false, meaning: 'no purchase with that reference in this tenant' },
  payment_method_not_found: { status: 404, retryable: false, meaning: 'no saved card with that id for this customer' },
  endpoint_not_found: { status: 404, retryable: false, meaning: 'no webhook endpoint with that id in this tenant' },
  delivery_not_found: { status: 404, retryable: false, meaning: 'no delivery with that id for this endpoint' },
  balance_alert_not_found: { status: 404, retryable: false, meaning: 'no balance alert for that credit system' },
  auto_topup_not_found: { status: 404, retryable: false, meaning: 'no auto top-up for that customer and credit system' },
  credentials_not_found: { status: 404, retryable: false, meaning: 'the tenant has no provider keys of its own to remove' },
  purchase_not_refundable: { status: 409, retryable: false, meaning: 'only a completed purchase can be refunded' },
  idempotency_key_reused: { status: 422, retryable: false, meaning: 'the Idempotency-Key was used for another request; `details.reference` is the first one' },
  refund_inconsistent: { status: 500, retryable: false, meaning: 'the ledger and the balance disagree about a grant; nothing was refunded' },
});
