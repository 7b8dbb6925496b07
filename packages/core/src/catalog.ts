/**
 * The catalog as the domain sees it: plain data, loaded and cached by
 * @tally/catalog, read by metering and billing. Amounts are micro-units
 * (credits, feature units) or minor currency units (money).
 */
export const RESET_INTERVALS = [
  'none', 'never', '5min', '15min', '30min', 'hourly', 'daily', 'weekly', 'monthly', 'quarterly', 'semi_annual', 'yearly',
] as const;
export type ResetInterval = (typeof RESET_INTERVALS)[number];

/** A plan's billing `interval` and an entitlement's `reset` take the same documented list. */
export const isResetInterval = (value: string): value is ResetInterval => (RESET_INTERVALS as readonly string[]).includes(value);

export type Overage = 'block' | 'charge';

export interface FeatureDef {
  id: string;
  slug: string;
  name: string;
  type: 'metered' | 'boolean';
  meterType: 'consumable' | 'non_consumable';
  /** The credit system this feature is a member of, with its default cost per unit. */
  creditSystem: { slug: string; costMicro: bigint } | null;
}

export interface CreditSystemDef {
  id: string;
  slug: string;
  name: string;
  description: string | null;
  /** member feature slug -> micro-credits per unit */
  members: Map<string, bigint>;
}

/** One line of a plan: a feature limit, or a credit system allowance. */
export interface EntitlementDef {
  slug: string;
  kind: 'feature' | 'credit_system';
  enabled: boolean;
  /** micro-units of the feature, or micro-credits of the system, per period; null = unlimited */
  limitMicro: bigint | null;
  trialLimitMicro: bigint | null;
  reset: ResetInterval;
  overage: Overage;
  /** Per-plan cost of one unit in its credit system, overriding the member cost. */
  creditCostMicro: bigint | null;
  /** Unused allowance carried over: at most `maxMicro` per period, usable for `periods` periods; null/absent = none. */
  rollover?: { maxMicro: bigint; periods: number } | null;
}

export interface PlanDef {
  id: string;
  slug: string;
  name: string;
  description: string | null;
  priceMinor: bigint;
  currency: string;
  interval: string;
  trialDays: number;
  provider: string | null;
  autoEnable: boolean;
  isAddon: boolean;
  /** Plans of one group exclude each other for a customer (null = the default group). */
  planGroup?: string | null;
  entitlements: Map<string, EntitlementDef>;
}

export interface CreditPackDef {
  id: string;
  slug: string;
  name: string;
  description: string | null;
  creditsMicro: bigint;
  priceMinor: bigint;
  currency: string;
  creditSystem: string;
  provider: string | null;
  archived: boolean;
  /** What a refund gives back: 'unspent' (the unspent credits' share of the price) or 'full'. */
  refundPolicy: RefundPolicy;
  /** Credits granted from this pack expire this many days after the grant; null/absent = never. */
  expiresAfterDays?: number | null;
}

export type RefundPolicy = 'unspent' | 'full';

export interface CatalogSnapshot {
  tenantId: string;
  /** Bumped by every sync; caches compare it to know they are stale. */
  version: bigint;
  defaultProvider: string;
  features: Map<string, FeatureDef>;
  creditSystems: Map<string, CreditSystemDef>;
  plans: Map<string, PlanDef>;
  creditPacks: Map<string, CreditPackDef>;
}

export interface SubscriptionDef {
  id: string;
  planSlug: string;
  status: 'active' | 'trialing' | 'pending' | 'past_due' | 'canceled';
  anchorAt: Date;
  trialEndsAt: Date | null;
}

export interface CustomerDef {
  id: string;
  email: string | null;
  name: string | null;
  metadata: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}
