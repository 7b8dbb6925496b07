export * from './amounts.ts';
export * from './catalog.ts';
export * from './periods.ts';
export * from './consumption.ts';
export * from './check.ts';
export * from './balance.ts';
export * from './catalog-sync.ts';
export * from './refunds.ts';
