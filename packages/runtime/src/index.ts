export * from './errors.ts';
export * from './config.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './health.ts';
export * from './shutdown.ts';
export * from './ops-access.ts';
export * from './error-codes.ts';
