export * from './amounts.ts';
export * from './catalog.ts';
