export {};
export * from './http/common.ts';
export * from './http/catalog.ts';
export * from './http/customers.ts';
export * from './http/attach.ts';
export * from './http/usage.ts';
export * from './http/imports.ts';
