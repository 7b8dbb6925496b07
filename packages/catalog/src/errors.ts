import { defineErrors } from '@tally/runtime';

/**
 * The catalog's error codes: tenants and API keys, the catalog and its sync, customers and subscriptions.
 * Declared once here (status, retryable, meaning); a throw site names only the
 * code and the message. docs/errors.md and the OpenAPI document list them, and
 * apps/api/src/http/errors-catalogues.test.ts fails when they disagree.
 */
export const catalogErrors = defineErrors({
  catalog_reference_error: { status: 400, retryable: false, meaning: 'a sync names a slug that does not exist or breaks a catalog rule; the message names it' },
  customer_not_found: { status: 404, retryable: false, meaning: 'no customer with that id in this tenant (reads only: track, check, attach and addon create one)' },
  feature_not_found: { status: 404, retryable: false, meaning: 'no feature with that slug in the catalog' },
  credit_system_not_found: { status: 404, retryable: false, meaning: 'no credit system with that slug' },
  pack_not_found: { status: 404, retryable: false, meaning: 'no credit pack with that slug or id' },
  plan_not_found: { status: 404, retryable: false, meaning: 'no plan with that slug' },
  subscription_not_found: { status: 404, retryable: false, meaning: 'no subscription or plan checkout with that reference' },
  api_key_not_found: { status: 404, retryable: false, meaning: 'no API key with that id in this tenant' },
  tenant_not_found: { status: 404, retryable: false, meaning: 'no such tenant' },
  customer_email_taken: { status: 409, retryable: false, meaning: 'another customer of this tenant already has that email' },
  subscription_past_due: { status: 409, retryable: false, meaning: "the customer's paid plan is past due (its renewal failed after every retry): `check` answers it for the plan's features, plan changes are refused; a new card retries the renewal" },
  subscription_canceled: { status: 409, retryable: false, meaning: 'the plan checkout belongs to a subscription that was canceled' },
  too_many_api_keys: { status: 409, retryable: false, meaning: 'the tenant has the most active keys allowed; revoke one first' },
  cannot_revoke_current_key: { status: 409, retryable: false, meaning: 'the key making the call cannot revoke itself' },
  api_key_not_rotatable: { status: 409, retryable: false, meaning: 'the key is revoked or already being replaced' },
});
