/**
 * Which meter an event of a feature draws from, under the customer's plan.
 * A meter is a credit system (shared balance, credits = value x cost) or a
 * standalone metered feature (its own units). Pure.
 */
import { MICRO } from './amounts.ts';
import type { CatalogSnapshot, Overage, PlanDef, ResetInterval, SubscriptionDef } from './catalog.ts';
import { currentPeriod } from './periods.ts';

export interface MeterDef {
  /** Credit system slug, or the feature's own slug. */
  meter: string;
  kind: 'credit_system' | 'feature';
  /** Credit system slug, '' for a standalone feature. */
  creditSystem: string;
  /** Credits (micro) one unit costs; MICRO (1:1) for a standalone feature. */
  costMicro: bigint;
  /** Plan allowance per period (micro); null = unlimited; 0 when the plan gives none. */
  limitMicro: bigint | null;
  reset: ResetInterval;
  overage: Overage;
  /** False when the plan does not list this meter: usage still counts (as purchased/overage). */
  inPlan: boolean;
}

export type MeterResolution =
  | { ok: true; def: MeterDef }
  | { ok: false; code: 'feature_not_found' | 'boolean_feature' };

export function resolveMeter(
  snapshot: CatalogSnapshot,
  plan: PlanDef | null,
  subscription: Pick<SubscriptionDef, 'status'> | null,
  featureSlug: string,
): MeterResolution {
  const feature = snapshot.features.get(featureSlug);
  if (!feature) return { ok: false, code: 'feature_not_found' };
  if (feature.type === 'boolean') return { ok: false, code: 'boolean_feature' };
  const featureEntitlement = plan?.entitlements.get(featureSlug);
  const slug = feature.creditSystem?.slug ?? featureSlug;
  return {
    ok: true,
    def: {
      meter: slug,
      kind: feature.creditSystem ? 'credit_system' : 'feature',
      creditSystem: feature.creditSystem?.slug ?? '',
      costMicro: feature.creditSystem ? (featureEntitlement?.creditCostMicro ?? feature.creditSystem.costMicro) : MICRO,
      ...meterTerms(plan, subscription, slug),
    },
  };
}

/** The plan's terms for one meter (credit system or feature slug): allowance, reset, overage. */
export function meterTerms(
  plan: PlanDef | null,
  subscription: Pick<SubscriptionDef, 'status'> | null,
  slug: string,
): Pick<MeterDef, 'limitMicro' | 'reset' | 'overage' | 'inPlan'> {
  const entitlement = plan?.entitlements.get(slug);
  const live = entitlement && entitlement.enabled ? entitlement : null;
  if (!live) return { limitMicro: 0n, reset: 'never', overage: 'block', inPlan: false };
  const trial = subscription?.status === 'trialing' && live.trialLimitMicro !== null;
  return { limitMicro: trial ? live.trialLimitMicro : live.limitMicro, reset: live.reset, overage: live.overage, inPlan: true };
}

/** Far future for meters that never reset (ms, below 2^53 so Lua holds it exactly). */
export const NO_PERIOD_END_MS = 8_640_000_000_000_000;

/**
 * The current period of a meter in ms. The anchor is cut to whole seconds so
 * period boundaries fall on seconds, like ClickHouse DateTime columns: the
 * rebuild can then select a period's rows exactly.
 */
export function meterPeriod(def: Pick<MeterDef, 'reset'>, anchorAt: Date | null, now: Date): { startMs: number; endMs: number } {
  if (!anchorAt) return { startMs: 0, endMs: NO_PERIOD_END_MS };
  const anchor = new Date(Math.floor(anchorAt.getTime() / 1000) * 1000);
  const period = currentPeriod(anchor, def.reset, now);
  if (!period) return { startMs: 0, endMs: NO_PERIOD_END_MS };
  return { startMs: period.start.getTime(), endMs: period.end.getTime() };
}
