import { canonical } from '@tally/core';
import type { Purchase } from './purchase-repo.ts';
import { billingErrors } from '../errors.ts';

/** What a POST /v1/addon asks for, as AddonService receives it. */
export interface AddonAsk {
  customer: string;
  pack: string;
  quantity: number;
  currency?: string | undefined;
  callbackUrl?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  source?: 'purchase' | 'auto_topup';
  /** Details for creating the customer when it does not exist (not part of the purchase's identity). */
  customerData?: { email?: string | undefined; name?: string | undefined; metadata?: Record<string, unknown> | undefined } | undefined;
}

/**
 * True when `ask` is the request `purchase` was recorded for: the same
 * customer, pack (slug or id), quantity, callback URL, metadata and source;
 * a currency, when given, must be the one charged. A retry with the same
 * Idempotency-Key must be this; anything else is a different purchase.
 */
export function isSameAddon(ask: AddonAsk, purchase: Purchase): boolean {
  return (
    ask.customer === purchase.customerId &&
    (ask.pack === purchase.packSlug || ask.pack === purchase.packId) &&
    ask.quantity === purchase.quantity &&
    (ask.currency === undefined || ask.currency.toUpperCase() === purchase.currency) &&
    (ask.callbackUrl ?? null) === purchase.callbackUrl &&
    canonical(ask.metadata ?? {}) === canonical(purchase.metadata) &&
    (ask.source ?? 'purchase') === purchase.source
  );
}

/** 422, as Stripe answers a key reused with other parameters: the first purchase is left as it is. */
export const idempotencyKeyReused = (key: string, purchase: Purchase) =>
  billingErrors.idempotency_key_reused(
    `Idempotency-Key "${key}" was already used for a different request (purchase ${purchase.id}); send a new key for a new purchase`,
    { details: { reference: purchase.id } },
  );
