import type { CatalogSnapshot, SubscriptionDef } from '@tally/core';

/**
 * What metering reads from the catalog: @tally/catalog's CatalogService and
 * CustomerService satisfy it (both cached in process, no query per event).
 */
export interface MeteringDirectory {
  snapshot(tenantId: string): Promise<CatalogSnapshot>;
  context(tenantId: string, customerId: string): Promise<{ subscription: SubscriptionDef | null } | null>;
}
