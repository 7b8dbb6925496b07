import type { CatalogSnapshot, CustomerDef } from '@tally/core';

/**
 * What billing needs from the rest of Tally, as narrow interfaces. The real
 * implementations are @tally/metering's BalanceService and @tally/catalog's
 * CatalogService / CustomerService; apps wire them in.
 */
export interface BalanceRef {
  tenantId: string;
  customerId: string;
  creditSystem: string;
}

export interface GrantRef extends BalanceRef {
  grantId: string;
}

export interface GrantInput extends GrantRef {
  creditsMicro: bigint;
  grantedAt: Date;
  expiresAt?: Date | null;
}

export interface BalancePort {
  /** Adds a grant to the hot balance; idempotent by grantId. */
  applyGrant(input: GrantInput): Promise<{ balanceMicro: bigint }>;
  /** Removes what is left of a grant; returns the unspent part it took back. */
  revokeGrant(input: GrantRef): Promise<{ revokedMicro: bigint }>;
  balance(input: BalanceRef): Promise<{ planMicro: bigint; purchasedMicro: bigint; totalMicro: bigint }>;
}

/** Fired by metering after a balance changed (deductions); drives balance alerts and auto top-up. */
export interface BalanceChange extends BalanceRef {
  totalMicro: bigint;
}

export interface CatalogPort {
  snapshot(tenantId: string): Promise<CatalogSnapshot>;
}

export interface CustomerPort {
  context(tenantId: string, customerId: string): Promise<{ customer: CustomerDef } | null>;
  /** Creates a missing customer (the API's, with the tenant's creation limit); absent where nothing may create one. */
  ensure?(tenantId: string, customerId: string, data?: { email?: string | undefined; name?: string | undefined; metadata?: Record<string, unknown> | undefined } | null): Promise<unknown>;
  /** Drops the cached context after a subscription change (renewals: past_due, plan switched at the boundary). */
  invalidate?(tenantId: string, customerId: string): Promise<void>;
}
