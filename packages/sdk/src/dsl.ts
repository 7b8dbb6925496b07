/**
 * The catalog DSL, as Owostack's guide writes it:
 *
 *   const gpt4 = metered("gpt-4");
 *   const aiCredits = creditSystem("ai-credits", { name: "AI Credits", features: [gpt4(20)] });
 *   plan("pro", { name: "Pro", price: 2000, currency: "USD", interval: "monthly",
 *     features: [gpt4.limit(100), aiCredits.credits(5000, { reset: "monthly" })] });
 *
 * Every builder returns plain data tagged with its kind; `buildSyncBody`
 * (collect.ts) turns whatever a config file exports into a POST /v1/sync body.
 */
import type { SyncBody } from '@tally/contracts';

export type ResetInterval =
  | 'none' | 'never' | '5min' | '15min' | '30min' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'quarterly' | 'semi_annual' | 'yearly';
export type Overage = 'block' | 'charge';

type SyncFeature = SyncBody['features'] extends (infer T)[] | undefined ? T : never;
type SyncPlan = SyncBody['plans'] extends (infer T)[] | undefined ? T : never;
type SyncPlanFeature = SyncPlan['features'] extends (infer T)[] | undefined ? T : never;
type SyncCreditSystem = SyncBody['creditSystems'] extends (infer T)[] | undefined ? T : never;
type SyncCreditPack = SyncBody['creditPacks'] extends (infer T)[] | undefined ? T : never;

export const KIND = Symbol.for('tally.catalog.kind');

/** `gpt4(20)`: the feature as a member of a credit system, at 20 credits per unit. */
export interface CreditSystemMember {
  readonly [KIND]: 'member';
  readonly feature: FeatureRef;
  readonly creditCost: number;
}

/** One line of a plan's `features`. */
export interface PlanEntry {
  readonly [KIND]: 'entry';
  /** What the entry names (collected into the sync body with it). */
  readonly target: FeatureRef | CreditSystemRef;
  readonly value: SyncPlanFeature;
}

export interface LimitOptions {
  /** Credits one unit of this feature costs in its credit system, on this plan. */
  creditCost?: number;
  reset?: ResetInterval;
  overage?: Overage;
  trialLimit?: number;
}

interface FeatureBase {
  readonly [KIND]: 'feature';
  readonly slug: string;
  readonly definition: SyncFeature;
  /** Include the feature in a plan with no limit. */
  enabled(): PlanEntry;
  /** Leave the feature out of a plan explicitly. */
  disabled(): PlanEntry;
}

export interface MeteredFeature extends FeatureBase {
  (creditCost: number): CreditSystemMember;
  /** Cap the feature's units per period on a plan. */
  limit(units: number, options?: LimitOptions): PlanEntry;
  /** No cap on a plan, optionally with a per-plan credit cost. */
  unlimited(options?: Omit<LimitOptions, 'trialLimit'>): PlanEntry;
}

export type BooleanFeature = FeatureBase;
export type FeatureRef = MeteredFeature | BooleanFeature;

export interface CreditSystemRef {
  readonly [KIND]: 'creditSystem';
  readonly slug: string;
  readonly members: readonly CreditSystemMember[];
  readonly definition: Omit<SyncCreditSystem, 'features'>;
  /** The plan's allowance of this system's credits each period. */
  credits(amount: number, options?: { reset?: ResetInterval; overage?: Overage; trialLimit?: number }): PlanEntry;
}

export interface PlanRef {
  readonly [KIND]: 'plan';
  readonly slug: string;
  readonly entries: readonly PlanEntry[];
  readonly definition: Omit<SyncPlan, 'features'>;
}

export interface CreditPackRef {
  readonly [KIND]: 'creditPack';
  readonly slug: string;
  readonly creditSystemRef: CreditSystemRef | null;
  readonly definition: SyncCreditPack;
}

export type CatalogItem = FeatureRef | CreditSystemRef | PlanRef | CreditPackRef;

const entry = (target: FeatureRef | CreditSystemRef, value: SyncPlanFeature): PlanEntry => ({ [KIND]: 'entry', target, value });

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function featureBase(slug: string, definition: SyncFeature, self: () => FeatureRef) {
  return {
    [KIND]: 'feature' as const,
    slug,
    definition,
    enabled: () => entry(self(), { slug, enabled: true }),
    disabled: () => entry(self(), { slug, enabled: false }),
  };
}

export function metered(slug: string, options: { name?: string; meterType?: 'consumable' | 'non_consumable' } = {}): MeteredFeature {
  const definition = withoutUndefined({ slug, type: 'metered' as const, name: options.name, meterType: options.meterType });
  const feature = ((creditCost: number): CreditSystemMember => ({ [KIND]: 'member', feature, creditCost })) as MeteredFeature;
  const base = featureBase(slug, definition, () => feature);
  // A function's own `name`/`length` are read-only; define properties explicitly.
  for (const [key, value] of Object.entries(base)) Object.defineProperty(feature, key, { value, enumerable: true });
  Object.defineProperty(feature, KIND, { value: 'feature', enumerable: false });
  Object.defineProperty(feature, 'limit', {
    enumerable: true,
    value: (units: number, o: LimitOptions = {}) =>
      entry(feature, withoutUndefined({ slug, enabled: true, limit: units, trialLimit: o.trialLimit, reset: o.reset, overage: o.overage, creditCost: o.creditCost })),
  });
  Object.defineProperty(feature, 'unlimited', {
    enumerable: true,
    value: (o: Omit<LimitOptions, 'trialLimit'> = {}) =>
      entry(feature, withoutUndefined({ slug, enabled: true, limit: null, reset: o.reset, overage: o.overage, creditCost: o.creditCost })),
  });
  return feature;
}

export function boolean(slug: string, options: { name?: string } = {}): BooleanFeature {
  const definition = withoutUndefined({ slug, type: 'boolean' as const, name: options.name });
  const feature: BooleanFeature = featureBase(slug, definition, () => feature);
  return feature;
}

export function creditSystem(
  slug: string,
  options: { name: string; description?: string; features: CreditSystemMember[] },
): CreditSystemRef {
  const system: CreditSystemRef = {
    [KIND]: 'creditSystem',
    slug,
    members: options.features,
    definition: withoutUndefined({ slug, name: options.name, description: options.description }),
    credits: (amount, o = {}) =>
      entry(system, withoutUndefined({ slug, enabled: true, limit: amount, trialLimit: o.trialLimit, reset: o.reset ?? 'monthly', overage: o.overage })),
  };
  return system;
}

export interface PlanOptions extends Omit<SyncPlan, 'slug' | 'features'> {
  /** Entries (`x.limit(…)`, `system.credits(…)`), or a feature itself to include it without a limit. */
  features?: (PlanEntry | FeatureRef)[];
}

export function plan(slug: string, options: PlanOptions): PlanRef {
  const { features = [], ...rest } = options;
  const entries = features.map((f) => (f[KIND] === 'entry' ? f : f.enabled()));
  return { [KIND]: 'plan', slug, entries, definition: withoutUndefined({ slug, ...rest }) };
}

export interface CreditPackOptions extends Omit<SyncCreditPack, 'slug' | 'creditSystem'> {
  /** The credit system's slug, or the system itself. */
  creditSystem: string | CreditSystemRef;
}

export function creditPack(slug: string, options: CreditPackOptions): CreditPackRef {
  const { creditSystem: system, ...rest } = options;
  const systemSlug = typeof system === 'string' ? system : system.slug;
  return {
    [KIND]: 'creditPack',
    slug,
    creditSystemRef: typeof system === 'string' ? null : system,
    definition: withoutUndefined({ slug, ...rest, creditSystem: systemSlug }),
  };
}
