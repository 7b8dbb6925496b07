/**
 * The one place Redis key names are built. Every key of one customer shares
 * the hash tag {tenant:customer}, so a Lua script touching several of them is
 * valid on Redis Cluster too (all land in one slot).
 */
const PREFIX = 'tally';

const customerTag = (tenantId: string, customerId: string) => `{${tenantId}:${customerId}}`;

export const keys = {
  customerTag,
  /** Balance state of one meter (a credit system, or a standalone metered feature). */
  meter: (tenantId: string, customerId: string, meter: string) =>
    `${PREFIX}:${customerTag(tenantId, customerId)}:meter:${meter}`,
  /** Purchased grants of one credit system: hash grantId -> remaining micro-credits. */
  grants: (tenantId: string, customerId: string, system: string) =>
    `${PREFIX}:${customerTag(tenantId, customerId)}:grants:${system}`,
  /**
   * Spending order of those grants: score = expires-at ms, or 10^13 + granted-at ms for a grant without
   * expiry (packages/core/src/consumption.ts spendingScore); rollover carries `ro:<meter>:<period start>`.
   */
  grantOrder: (tenantId: string, customerId: string, system: string) =>
    `${PREFIX}:${customerTag(tenantId, customerId)}:grant-order:${system}`,
  /** Units used of one feature in the current period (for per-feature plan limits). */
  featureUsage: (tenantId: string, customerId: string, feature: string) =>
    `${PREFIX}:${customerTag(tenantId, customerId)}:feature:${feature}`,
  /** Expiry (ms) of those grants that have one: hash grantId -> expires-at ms. */
  grantExpiry: (tenantId: string, customerId: string, system: string) =>
    `${PREFIX}:${customerTag(tenantId, customerId)}:grant-expiry:${system}`,
  /**
   * Event ids already applied for this customer, one hash per 35-day generation
   * (field = 8-byte digest of the id, value = 4-byte payload fingerprint).
   */
  seenEvents: (tenantId: string, customerId: string, generation: string) =>
    `${PREFIX}:${customerTag(tenantId, customerId)}:seen:${generation}`,
  /**
   * Split (plan/purchased/overage) of applied events whose ClickHouse row is
   * not confirmed yet: a replayed job writes their rows from here. Entries are
   * removed once the rows are written.
   */
  appliedLog: (tenantId: string, customerId: string) => `${PREFIX}:${customerTag(tenantId, customerId)}:applied`,
  /** Bumped each time rows of this customer's debits reach ClickHouse (a rebuild checks it did not miss any). */
  rowsWritten: (tenantId: string, customerId: string) => `${PREFIX}:${customerTag(tenantId, customerId)}:rows-written`,
  /**
   * Strict-path (check with sendEvent) messages written before their debit and
   * removed once published: field = id digest, value = "<claimedAtMs>|<writtenAtMs>|<event json>".
   * The outbox sweeper republishes any whose request died between debit and publish.
   */
  strictPending: (tenantId: string, customerId: string) => `${PREFIX}:${customerTag(tenantId, customerId)}:strict-pending`,
  /** Customers that may have strict-path messages pending (zset "tenant:customer" -> oldest write ms). */
  strictPendingIndex: () => `${PREFIX}:strict-pending-index`,
  /** Lock held while one process rebuilds this customer's state. */
  rebuildLock: (tenantId: string, customerId: string) => `${PREFIX}:${customerTag(tenantId, customerId)}:rebuild-lock`,
  /** Present when the customer's balances were built (from Postgres + ClickHouse) in Redis. */
  hydrated: (tenantId: string, customerId: string) => `${PREFIX}:${customerTag(tenantId, customerId)}:hydrated`,
  /** Prefix for anything else a service needs; name it here rather than inline. */
  custom: (...parts: string[]) => `${PREFIX}:${parts.join(':')}`,
};
