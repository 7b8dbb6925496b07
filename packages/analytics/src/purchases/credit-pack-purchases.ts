import type { ClickHouseClient } from '@tally/clickhouse';
import { insertJsonLines, jsonRow } from '../clickhouse-io.ts';

/** A completed credit-pack purchase as billing knows it (amounts exact). */
export interface CompletedPurchase {
  tenantId: string;
  purchaseId: string;
  customerId: string;
  pack: string;
  creditSystem: string;
  quantity: number;
  creditsMicro: bigint;
  amountMinor: bigint;
  refundedMinor?: bigint;
  currency: string;
  provider: string;
  completedAt: Date;
}

/**
 * Mirrors a completed purchase into ClickHouse (credit_pack_purchases_v1) for
 * revenue queries. Billing calls it after the purchase is committed in
 * Postgres; calling it again for the same purchase is harmless (the row with
 * the highest version wins: pass a refund with a later `version`).
 * Postgres stays the system of record.
 */
export async function recordCreditPackPurchase(
  client: ClickHouseClient,
  database: string,
  p: CompletedPurchase,
  version: bigint = BigInt(Date.now()),
): Promise<void> {
  await insertJsonLines(client, database, 'credit_pack_purchases_v1', [
    jsonRow({
      tenant_id: p.tenantId,
      purchase_id: p.purchaseId,
      customer_id: p.customerId,
      pack: p.pack,
      credit_system: p.creditSystem,
      quantity: p.quantity,
      credits_micro: p.creditsMicro,
      amount_minor: p.amountMinor,
      refunded_minor: p.refundedMinor ?? 0n,
      currency: p.currency,
      provider: p.provider,
      completed_at: Math.floor(p.completedAt.getTime() / 1000),
      version,
    }),
  ]);
}
