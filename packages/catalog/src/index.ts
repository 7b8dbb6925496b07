export * from './tenancy/api-keys.ts';
export * from './tenancy/tenants.ts';
export * from './catalog/catalog-cache.ts';
export * from './catalog/catalog-service.ts';
export * from './catalog/load-snapshot.ts';
export * from './catalog/sync.ts';
export * from './customers/customer-context-cache.ts';
export * from './customers/customer-service.ts';
