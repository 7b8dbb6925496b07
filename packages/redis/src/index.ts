export * from './connection.ts';
export * from './cluster.ts';
export * from './keys.ts';
export * from './scripts.ts';
export * from './change-bus.ts';
export * from './balance-channel.ts';
