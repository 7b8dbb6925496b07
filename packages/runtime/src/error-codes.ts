/**
 * The registry of every error code an HTTP answer can carry. docs/errors.md's
 * table is compared with it by error-codes.test.ts, and the same test scans the
 * sources for thrown codes, so neither can drift.
 * Convention: snake_case, except `ValidationError` and `Unauthorized`, kept as
 * Owostack's clients expect them (the HTTP contract names both).
 */
export interface ErrorCodeInfo {
  code: string;
  status: number;
  retryable: boolean;
  meaning: string;
}

export const ERROR_CODES: readonly ErrorCodeInfo[] = [
  { code: 'ValidationError', status: 400, retryable: false, meaning: 'the body, query or path is invalid; `issues` names each field' },
  { code: 'Unauthorized', status: 401, retryable: false, meaning: 'the API key (or admin token) is missing, unknown, revoked or expired' },
  { code: 'invalid_cursor', status: 400, retryable: false, meaning: 'the `cursor` of a list is not one this list handed out' },
  { code: 'invalid_event', status: 400, retryable: false, meaning: 'a usage event is malformed (in a batch: only that event is `rejected`)' },
  { code: 'invalid_json', status: 400, retryable: false, meaning: 'an NDJSON line is not JSON (in a batch: only that line is `rejected`)' },
  { code: 'feature_not_metered', status: 400, retryable: false, meaning: 'a usage event names a boolean feature (in a batch: only that event is `rejected`)' },
  { code: 'timestamp_out_of_range', status: 400, retryable: false, meaning: 'an event timestamp is too far in the past or future (in a batch: only that event is `rejected`)' },
  { code: 'credits_overflow', status: 400, retryable: false, meaning: 'value × credit cost exceeds what a balance can hold exactly' },
  { code: 'currency_mismatch', status: 400, retryable: false, meaning: 'the currency asked for differs from the pack or plan price currency' },
  { code: 'catalog_reference_error', status: 400, retryable: false, meaning: 'a sync names a slug that does not exist or breaks a catalog rule; the message names it' },
  { code: 'provider_not_configured', status: 400, retryable: false, meaning: 'the pack or plan is sold through a provider this deployment cannot use for the tenant (unconfigured, other environment, sandbox in live mode)' },
  { code: 'unsupported_format', status: 400, retryable: false, meaning: 'an import file is neither NDJSON nor CSV (optionally gzip)' },
  { code: 'invalid_signature', status: 400, retryable: false, meaning: 'a provider webhook is unsigned, forged or older than 5 minutes' },
  { code: 'payment_mismatch', status: 400, retryable: false, meaning: 'a provider confirmed a payment that does not match the purchase (amount, currency, customer); nothing granted' },
  { code: 'card_declined', status: 402, retryable: false, meaning: 'the card was declined' },
  { code: 'insufficient_funds', status: 402, retryable: false, meaning: 'the card has insufficient funds' },
  { code: 'expired_card', status: 402, retryable: false, meaning: 'the card has expired' },
  { code: 'invalid_number', status: 402, retryable: false, meaning: 'the card number is not valid' },
  { code: 'payment_method_missing', status: 402, retryable: false, meaning: 'the saved card no longer exists at the provider' },
  { code: 'authentication_required', status: 402, retryable: false, meaning: 'the bank asks the customer to authenticate: send them through checkout' },
  { code: 'payment_failed', status: 402, retryable: false, meaning: 'the payment failed for another reason; the message says why' },
  { code: 'not_found', status: 404, retryable: false, meaning: 'no such route' },
  { code: 'customer_not_found', status: 404, retryable: false, meaning: 'no customer with that id in this tenant (reads only: track, check, attach and addon create one)' },
  { code: 'feature_not_found', status: 404, retryable: false, meaning: 'no feature with that slug in the catalog' },
  { code: 'credit_system_not_found', status: 404, retryable: false, meaning: 'no credit system with that slug' },
  { code: 'pack_not_found', status: 404, retryable: false, meaning: 'no credit pack with that slug or id' },
  { code: 'plan_not_found', status: 404, retryable: false, meaning: 'no plan with that slug' },
  { code: 'purchase_not_found', status: 404, retryable: false, meaning: 'no purchase with that reference in this tenant' },
  { code: 'subscription_not_found', status: 404, retryable: false, meaning: 'no subscription or plan checkout with that reference' },
  { code: 'payment_method_not_found', status: 404, retryable: false, meaning: 'no saved card with that id for this customer' },
  { code: 'endpoint_not_found', status: 404, retryable: false, meaning: 'no webhook endpoint with that id in this tenant' },
  { code: 'delivery_not_found', status: 404, retryable: false, meaning: 'no delivery with that id for this endpoint' },
  { code: 'balance_alert_not_found', status: 404, retryable: false, meaning: 'no balance alert for that credit system' },
  { code: 'auto_topup_not_found', status: 404, retryable: false, meaning: 'no auto top-up for that customer and credit system' },
  { code: 'import_not_found', status: 404, retryable: false, meaning: 'no import with that id in this tenant' },
  { code: 'dead_letter_not_found', status: 404, retryable: false, meaning: 'no dead letter with that id in this tenant' },
  { code: 'credentials_not_found', status: 404, retryable: false, meaning: 'the tenant has no provider keys of its own to remove' },
  { code: 'api_key_not_found', status: 404, retryable: false, meaning: 'no API key with that id in this tenant' },
  { code: 'tenant_not_found', status: 404, retryable: false, meaning: 'no such tenant' },
  { code: 'metrics_off', status: 404, retryable: false, meaning: '`/metrics` is served only when `METRICS_TOKEN` is set' },
  { code: 'event_conflict', status: 409, retryable: false, meaning: 'the event id was already used with another payload; not applied' },
  { code: 'customer_email_taken', status: 409, retryable: false, meaning: 'another customer of this tenant already has that email' },
  { code: 'purchase_not_refundable', status: 409, retryable: false, meaning: 'only a completed purchase can be refunded' },
  { code: 'subscription_past_due', status: 409, retryable: false, meaning: "the customer's paid plan is past due (its renewal failed after every retry): `check` answers it for the plan's features, plan changes are refused; a new card retries the renewal" },
  { code: 'subscription_canceled', status: 409, retryable: false, meaning: 'the plan checkout belongs to a subscription that was canceled' },
  { code: 'import_not_cancellable', status: 409, retryable: false, meaning: 'the import already finished, failed or was reverted' },
  { code: 'import_not_revertable', status: 409, retryable: false, meaning: 'the import is still running or was already reverted' },
  { code: 'dead_letter_already_replayed', status: 409, retryable: false, meaning: 'the dead letter was already inserted again' },
  { code: 'too_many_api_keys', status: 409, retryable: false, meaning: 'the tenant has the most active keys allowed; revoke one first' },
  { code: 'cannot_revoke_current_key', status: 409, retryable: false, meaning: 'the key making the call cannot revoke itself' },
  { code: 'api_key_not_rotatable', status: 409, retryable: false, meaning: 'the key is revoked or already being replaced' },
  { code: 'repair_in_progress', status: 409, retryable: true, meaning: 'a rollup repair of this tenant is already running; retry when it ends' },
  { code: 'payload_too_large', status: 413, retryable: false, meaning: 'the body (or batch) is larger than allowed' },
  { code: 'import_limit_exceeded', status: 413, retryable: false, meaning: 'an import file exceeds a size, line or row limit; `details` names it' },
  { code: 'unsupported_media_type', status: 415, retryable: false, meaning: 'the Content-Type is not one the route takes' },
  { code: 'idempotency_key_reused', status: 422, retryable: false, meaning: 'the Idempotency-Key was used for another request; `details.reference` is the first one' },
  { code: 'dead_letter_refused', status: 422, retryable: false, meaning: 'ClickHouse refused the dead-lettered row again' },
  { code: 'customer_rate_limited', status: 429, retryable: true, meaning: 'the tenant created its limit of new customers this minute; retry after `Retry-After`' },
  { code: 'internal_error', status: 500, retryable: false, meaning: 'an unexpected failure; the request id is in `X-Request-Id`' },
  { code: 'refund_inconsistent', status: 500, retryable: false, meaning: 'the ledger and the balance disagree about a grant; nothing was refunded' },
  { code: 'provider_error', status: 502, retryable: false, meaning: 'the payment provider answered something Tally cannot use' },
  { code: 'refund_failed', status: 502, retryable: false, meaning: 'the payment provider did not complete the refund; retrying is safe (same amount, same key)' },
  { code: 'service_unavailable', status: 503, retryable: true, meaning: 'a dependency (Kafka, Redis, Postgres, ClickHouse) is down; nothing was done; retry after `Retry-After`' },
  { code: 'provider_unavailable', status: 503, retryable: true, meaning: 'the payment provider did not answer in time; retrying is safe' },
  { code: 'charge_processing', status: 503, retryable: true, meaning: 'the provider is still processing the payment; retry later' },
  { code: 'rebuild_busy', status: 503, retryable: true, meaning: 'the customer\'s balance is being rebuilt; retry after `Retry-After`' },
  { code: 'state_unavailable', status: 503, retryable: true, meaning: 'the customer\'s balance could not be rebuilt now; retry after `Retry-After`' },
];
