// What check, deduct, ingest, rebuild and balances share about the Redis ledger.
export * from './fingerprints.ts';
export * from './keys.ts';
export * from './customer-state.ts';
export * from './check-script.ts';
export * from './scripts.ts';
export * from './ledger-store.ts';
