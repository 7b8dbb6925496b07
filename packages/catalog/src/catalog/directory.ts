import type { CatalogSnapshot } from '@tally/core';
import type { CustomerContext, CustomerService } from '../customers/customer-service.ts';
import type { CatalogService } from './catalog-service.ts';

/**
 * The catalog as the other domains read it (metering's MeteringDirectory is
 * this shape): a tenant's cached snapshot and a customer's cached context.
 * Each app builds one over its one CatalogService and CustomerService.
 */
export interface CatalogDirectory {
  snapshot(tenantId: string): Promise<CatalogSnapshot>;
  context(tenantId: string, customerId: string): Promise<CustomerContext | null>;
}

export const catalogDirectory = (catalog: CatalogService, customers: CustomerService): CatalogDirectory => ({
  snapshot: (tenantId) => catalog.snapshot(tenantId),
  context: (tenantId, customerId) => customers.context(tenantId, customerId),
});
