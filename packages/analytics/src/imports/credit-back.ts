import { AppError } from '@tally/runtime';
import type { ImportEvents } from './import-events.ts';
import type { ImportLedger } from './import-ledger.ts';

/**
 * Waits (by failing retryably) until the metering pipeline has stored a row
 * for every event an apply import handed to Kafka: reverting earlier would
 * miss rows that are still on their way and let them debit afterwards.
 */
export async function assertApplyRowsStored(events: ImportEvents, tenantId: string, importId: string, accepted: number): Promise<void> {
  const stored = await events.storedEvents(tenantId, importId);
  if (stored < accepted) {
    throw new AppError('import_rows_pending', `${accepted - stored} events of the import are not stored yet`, { retryable: true });
  }
}

/**
 * Gives an apply import's credits back, exactly: once its rows are reverted in
 * ClickHouse, each affected customer's Redis state is dropped, and metering
 * rebuilds it on next use from the grants ledger (Postgres) and the usage in
 * ClickHouse without reverted rows (the Rebuilder's contract: Redis balances
 * are a cache that is rebuilt to the same numbers). So the refund is the
 * same computation as any rebuild, with no second bookkeeping to drift.
 */
export async function creditBack(events: ImportEvents, ledger: ImportLedger, tenantId: string, importId: string): Promise<number> {
  const customers = await events.customersOf(tenantId, importId);
  await ledger.dropCustomerState(tenantId, customers);
  return customers.length;
}
