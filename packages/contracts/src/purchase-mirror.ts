/**
 * One credit-pack purchase in its current state, as billing's mirror hands it
 * to analytics for ClickHouse (credit_pack_purchases_v1): amounts exact, and
 * the state's version (the row with the highest version wins).
 */
export interface MirroredPurchase {
  tenantId: string;
  purchaseId: string;
  customerId: string;
  pack: string;
  creditSystem: string;
  quantity: number;
  creditsMicro: bigint;
  amountMinor: bigint;
  /** Paid back by a refund (minor units; 0 until refunded). */
  refundedMinor: bigint;
  /** Credits a refund took back (micro-credits; 0 until refunded). */
  revokedMicro: bigint;
  currency: string;
  provider: string;
  completedAt: Date;
  /** purchases.mirror_version: 1 once completed, 2 once refunded. */
  version: bigint;
}
