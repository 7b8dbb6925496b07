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
  /**
   * Charges the prorated price of an upgrade now, off-session with the card on file.
   * Repeated for the same (subscription left, plan) it repeats the same charge.
   */
  chargeUpgrade?(request: UpgradeChargeRequest): Promise<UpgradeChargeResult>;
}

export interface UpgradeChargeRequest {
  tenantId: string;
  customerId: string;
  /** The subscription being left (the idempotency of the charge hangs on it). */
  fromSubscriptionId: string;
  plan: PlanDef;
  amountMinor: bigint;
  periodStart: Date;
  periodEnd: Date;
}

export type UpgradeChargeResult =
  | { status: 'succeeded'; reference: string; amountMinor: bigint }
  | { status: 'declined'; reference: string; code: string; message: string };
