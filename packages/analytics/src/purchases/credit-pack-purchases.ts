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
  /** Credits a refund took back (micro-credits). */
  revokedMicro?: bigint;
  currency: string;
  provider: string;
  completedAt: Date;
}

/** A purchase in one of its states: the row with the highest version wins (ReplacingMergeTree). */
export interface VersionedPurchase extends CompletedPurchase {
  version: bigint;
}

const toLine = (p: VersionedPurchase): string =>
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
    revoked_micro: p.revokedMicro ?? 0n,
    currency: p.currency,
    provider: p.provider,
    completed_at: Math.floor(p.completedAt.getTime() / 1000),
    version: p.version,
  });

/**
 * Writes purchases into ClickHouse (credit_pack_purchases_v1) in one INSERT,
 * for revenue queries. Billing's purchase mirror calls it with the state
 * Postgres holds and that state's version; writing the same purchase and
 * version twice is harmless (ReplacingMergeTree keeps one, and every reader
 * takes argMax by version per purchase). Postgres stays the system of record.
 */
export async function recordCreditPackPurchases(client: ClickHouseClient, database: string, purchases: readonly VersionedPurchase[]): Promise<void> {
  await insertJsonLines(client, database, 'credit_pack_purchases_v1', purchases.map(toLine));
}

/** One purchase; see recordCreditPackPurchases. */
export async function recordCreditPackPurchase(
  client: ClickHouseClient,
  database: string,
  p: CompletedPurchase,
  version: bigint = BigInt(Date.now()),
): Promise<void> {
  await recordCreditPackPurchases(client, database, [{ ...p, version }]);
}
