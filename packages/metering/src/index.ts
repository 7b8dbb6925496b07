export * from './balance-service.ts';
export * from './balance-events.ts';
export * from './rebuild.ts';
export * from './directory.ts';
export * from './dedup.ts';
export * from './services.ts';
