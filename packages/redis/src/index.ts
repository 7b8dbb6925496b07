export * from './connection.ts';
export * from './keys.ts';
