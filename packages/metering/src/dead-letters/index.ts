export * from './dead-letter-repo.ts';
export * from './dead-letter-service.ts';
export * from './repair.ts';
export * from './deduct-payload.ts';
export * from './row-inserter.ts';
