import type { PlanDef } from '@tally/core';

export interface PlanCheckoutRequest {
  tenantId: string;
  customerId: string;
  plan: PlanDef;
  /** The pending subscription this checkout pays for. */
  subscriptionId: string;
  currency: string;
  callbackUrl?: string;
  metadata?: Record<string, unknown>;
}

export interface PlanCheckoutStarted {
  checkoutUrl: string;
  /** Handed back to `SubscriptionService.activateSubscription` when the provider confirms payment. */
  reference: string;
}

/**
 * The seam between subscriptions (catalog) and payments (billing): attaching a
 * paid plan creates a pending subscription and asks the billing side for a
 * checkout; billing calls `activateSubscription(reference)` once paid.
 */
export interface PlanCheckout {
  start(request: PlanCheckoutRequest): Promise<PlanCheckoutStarted>;
}
