export * from './amounts.ts';
export * from './catalog.ts';
export * from './periods.ts';
