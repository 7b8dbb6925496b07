import { defineErrors } from '@tally/runtime';

/**
 * Payment providers' error codes: configuration, webhook signatures, provider outages and declines (402, the provider's decline code).
 * Declared once here (status, retryable, meaning); a throw site names only the
 * code and the message. docs/errors.md and the OpenAPI document list them, and
 * apps/api/src/http/errors-catalogues.test.ts fails when they disagree.
 */
export const paymentErrors = defineErrors({
  provider_not_configured: { status: 400, retryable: false, meaning: 'the pack or plan is sold through a provider this deployment cannot use for the tenant (unconfigured, other environment, sandbox in live mode)' },
  invalid_signature: { status: 400, retryable: false, meaning: 'a provider webhook is unsigned, forged or older than 5 minutes' },
  card_declined: { status: 402, retryable: false, meaning: 'the card was declined' },
  insufficient_funds: { status: 402, retryable: false, meaning: 'the card has insufficient funds' },
  expired_card: { status: 402, retryable: false, meaning: 'the card has expired' },
  invalid_number: { status: 402, retryable: false, meaning: 'the card number is not valid' },
  payment_method_missing: { status: 402, retryable: false, meaning: 'the saved card no longer exists at the provider' },
  authentication_required: { status: 402, retryable: false, meaning: 'the bank asks the customer to authenticate: send them through checkout' },
  payment_failed: { status: 402, retryable: false, meaning: 'the payment failed for another reason; the message says why' },
  provider_error: { status: 502, retryable: false, meaning: 'the payment provider answered something Tally cannot use' },
  refund_failed: { status: 502, retryable: false, meaning: 'the payment provider did not complete the refund; retrying is safe (same amount, same key)' },
  provider_unavailable: { status: 503, retryable: true, meaning: 'the payment provider did not answer in time; retrying is safe' },
  charge_processing: { status: 503, retryable: true, meaning: 'the provider is still processing the payment; retry later' },
});
