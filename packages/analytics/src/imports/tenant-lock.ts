import { withTransaction, type Pool } from '@tally/postgres';

/** First key of the advisory lock (the second is the tenant's hash): "report import dedup". */
const LOCK_SPACE = 0x7a11_1d5;
/** A chunk waiting longer than this for another one fails and is retried by its job. */
const LOCK_TIMEOUT = '120s';

/**
 * Runs `fn` while holding the tenant's report-import lock: a PostgreSQL
 * transaction-scoped advisory lock, released on commit, on error, and when
 * the process holding it dies (its connection closes). Each chunk's "which
 * ids are stored" lookup and its insert run inside it, so no two chunks of
 * one tenant (of the same or different imports) can both see an id as new.
 * Tenants hashing alike only wait for each other.
 */
export function withReportImportLock<T>(pool: Pool, tenantId: string, fn: () => Promise<T>): Promise<T> {
  return withTransaction(pool, async (tx) => {
    await tx.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
    await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_SPACE, tenantId]);
    return fn();
  });
}
