import type { CatalogSnapshot, SubscriptionDef } from '@tally/core';

export interface CustomerData {
  email?: string | null;
  name?: string | null;
  metadata?: Record<string, unknown> | null;
}

/**
 * What metering reads from the catalog: @tally/catalog's CatalogService and
 * CustomerService satisfy it (both cached in process, no query per event).
 */
export interface MeteringDirectory {
  snapshot(tenantId: string): Promise<CatalogSnapshot>;
  context(tenantId: string, customerId: string): Promise<{ subscription: SubscriptionDef | null; version?: bigint } | null>;
  /** Creates the customer when missing (track/check with customerData or an unknown id). */
  ensure?(tenantId: string, customerId: string, customerData?: CustomerData | null): Promise<unknown>;
}
