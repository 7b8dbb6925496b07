export * from './tenancy/api-keys.ts';
export * from './tenancy/tenants.ts';
