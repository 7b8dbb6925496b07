import { insertJsonLines, jsonRow, type ClickHouseClient } from '@tally/clickhouse';
import type { MirroredPurchase } from '@tally/contracts';

const toLine = (p: MirroredPurchase): string =>
  jsonRow({
    tenant_id: p.tenantId,
    purchase_id: p.purchaseId,
    customer_id: p.customerId,
    pack: p.pack,
    credit_system: p.creditSystem,
    quantity: p.quantity,
    credits_micro: p.creditsMicro,
    amount_minor: p.amountMinor,
    refunded_minor: p.refundedMinor,
    revoked_micro: p.revokedMicro,
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
export async function recordCreditPackPurchases(client: ClickHouseClient, database: string, purchases: readonly MirroredPurchase[]): Promise<void> {
  await insertJsonLines(client, { database, table: 'credit_pack_purchases_v1' }, purchases.map(toLine));
}
