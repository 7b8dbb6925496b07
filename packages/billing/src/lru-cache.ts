// Moved to @tally/runtime (catalog, metering and billing all bound their caches with it).
export { LruCache } from '@tally/runtime';
