/**
 * Pure part of `POST /v1/sync`: turn the (already validated) body into the
 * desired catalog with exact amounts, check every reference, and diff it
 * against what the tenant has. The catalog package applies the result in one
 * transaction.
 */
import { MAX_SAFE_MICRO, creditsFor, formatMicro, toMicro } from './amounts.ts';
import { RESET_INTERVALS, isResetInterval, type Overage, type RefundPolicy, type ResetInterval } from './catalog.ts';

type Amount = number | string;

/** The sync body after validation (same field names as the HTTP contract). */
export interface SyncInput {
  defaultProvider?: string | undefined;
  features: { slug: string; type: 'metered' | 'boolean'; name?: string | undefined; meterType?: 'consumable' | 'non_consumable' | undefined }[];
  creditSystems: { slug: string; name: string; description?: string | null | undefined; features: { feature: string; creditCost: Amount }[] }[];
  creditPacks: {
    slug: string; name: string; description?: string | null | undefined; credits: Amount; price: number; currency: string;
    creditSystem: string; provider?: string | null | undefined; metadata?: Record<string, unknown> | null | undefined;
    refundPolicy?: RefundPolicy | undefined; expiresAfterDays?: number | null | undefined;
  }[];
  plans: {
    slug: string; name: string; description?: string | null | undefined; price: number; currency: string; interval: string;
    billingType?: string | null | undefined; planGroup?: string | null | undefined; trialDays?: number | undefined;
    provider?: string | null | undefined; metadata?: Record<string, unknown> | null | undefined; autoEnable?: boolean | undefined;
    isAddon?: boolean | undefined;
    features: {
      slug: string; enabled?: boolean | undefined; limit?: Amount | null | undefined; trialLimit?: Amount | null | undefined;
      reset?: ResetInterval | undefined; overage?: Overage | undefined; creditCost?: Amount | null | undefined;
      rollover?: { max: Amount; periods: number } | null | undefined;
    }[];
  }[];
}

export interface FeatureSpec { slug: string; name: string; type: 'metered' | 'boolean'; meterType: 'consumable' | 'non_consumable' }
export interface CreditSystemSpec { slug: string; name: string; description: string | null; members: [feature: string, costMicro: bigint][] }
export interface CreditPackSpec {
  slug: string; name: string; description: string | null; creditsMicro: bigint; priceMinor: bigint; currency: string;
  creditSystem: string; provider: string | null; metadata: Record<string, unknown>; refundPolicy: RefundPolicy;
  expiresAfterDays: number | null;
}
export interface EntitlementSpec {
  slug: string; kind: 'feature' | 'credit_system'; enabled: boolean; limitMicro: bigint | null; trialLimitMicro: bigint | null;
  reset: ResetInterval; overage: Overage; creditCostMicro: bigint | null;
  rolloverMaxMicro: bigint | null; rolloverPeriods: number | null;
}
export interface PlanSpec {
  slug: string; name: string; description: string | null; priceMinor: bigint; currency: string; interval: string;
  billingType: string | null; planGroup: string | null; trialDays: number; provider: string | null;
  metadata: Record<string, unknown>; autoEnable: boolean; isAddon: boolean; entitlements: EntitlementSpec[];
}

export interface CatalogSpec {
  features: Map<string, FeatureSpec>;
  creditSystems: Map<string, CreditSystemSpec>;
  creditPacks: Map<string, CreditPackSpec>;
  plans: Map<string, PlanSpec>;
}

/** A sync body that names something that does not exist, or names it twice: 400, nothing written. */
export class CatalogReferenceError extends Error {
  constructor(readonly slug: string, message: string) {
    super(message);
    this.name = 'CatalogReferenceError';
  }
}

/** What the tenant already has, to resolve references the body does not repeat. */
export interface ExistingSlugs {
  features: ReadonlySet<string>;
  creditSystems: ReadonlySet<string>;
  /** feature slug -> credit system slug, for memberships of systems the body leaves alone */
  membership: ReadonlyMap<string, string>;
}

const micro = (value: Amount, what: string, slug: string): bigint => {
  try {
    return toMicro(value);
  } catch (err) {
    throw new CatalogReferenceError(slug, `${what} of ${slug}: ${(err as Error).message}`);
  }
};
const optionalMicro = (value: Amount | null | undefined, what: string, slug: string) =>
  value === null || value === undefined ? null : micro(value, what, slug);

function uniqueBySlug<T extends { slug: string }>(items: T[], kind: string): Map<string, T> {
  const map = new Map<string, T>();
  for (const item of items) {
    if (map.has(item.slug)) throw new CatalogReferenceError(item.slug, `${kind} "${item.slug}" is listed twice`);
    map.set(item.slug, item);
  }
  return map;
}

/** Validates references and converts amounts; throws CatalogReferenceError naming the slug. */
export function buildCatalogSpec(input: SyncInput, existing: ExistingSlugs): CatalogSpec {
  const features = new Map<string, FeatureSpec>();
  for (const f of uniqueBySlug(input.features, 'feature').values()) {
    features.set(f.slug, { slug: f.slug, name: f.name ?? f.slug, type: f.type, meterType: f.meterType ?? 'consumable' });
  }
  const isFeature = (slug: string) => features.has(slug) || existing.features.has(slug);

  const creditSystems = new Map<string, CreditSystemSpec>();
  const memberOf = new Map<string, string>();
  const memberCost = new Map<string, bigint>();
  for (const s of uniqueBySlug(input.creditSystems, 'credit system').values()) {
    if (isFeature(s.slug)) throw new CatalogReferenceError(s.slug, `"${s.slug}" is both a feature and a credit system`);
    const members = new Map<string, bigint>();
    for (const m of s.features) {
      if (!isFeature(m.feature)) {
        throw new CatalogReferenceError(m.feature, `credit system "${s.slug}" names feature "${m.feature}", which does not exist`);
      }
      if (members.has(m.feature)) throw new CatalogReferenceError(m.feature, `credit system "${s.slug}" lists "${m.feature}" twice`);
      const other = memberOf.get(m.feature);
      if (other) throw new CatalogReferenceError(m.feature, `feature "${m.feature}" is a member of both "${other}" and "${s.slug}"`);
      memberOf.set(m.feature, s.slug);
      members.set(m.feature, micro(m.creditCost, 'creditCost', m.feature));
      memberCost.set(m.feature, members.get(m.feature)!);
    }
    creditSystems.set(s.slug, {
      slug: s.slug,
      name: s.name,
      description: s.description ?? null,
      members: [...members.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    });
  }
  // A feature may belong to one credit system only, counting systems this sync leaves as they are.
  for (const [feature, system] of memberOf) {
    const kept = existing.membership.get(feature);
    if (kept && kept !== system && !creditSystems.has(kept)) {
      throw new CatalogReferenceError(feature, `feature "${feature}" is already a member of credit system "${kept}"`);
    }
  }
  const isSystem = (slug: string) => creditSystems.has(slug) || existing.creditSystems.has(slug);

  const creditPacks = new Map<string, CreditPackSpec>();
  for (const p of uniqueBySlug(input.creditPacks, 'credit pack').values()) {
    if (!isSystem(p.creditSystem)) {
      throw new CatalogReferenceError(p.slug, `credit pack "${p.slug}" names credit system "${p.creditSystem}", which does not exist`);
    }
    const creditsMicro = micro(p.credits, 'credits', p.slug);
    if (creditsMicro <= 0n) throw new CatalogReferenceError(p.slug, `credit pack "${p.slug}" must grant more than 0 credits`);
    creditPacks.set(p.slug, {
      slug: p.slug,
      name: p.name,
      description: p.description ?? null,
      creditsMicro,
      priceMinor: BigInt(p.price),
      currency: p.currency.toUpperCase(),
      creditSystem: p.creditSystem,
      provider: p.provider ?? null,
      metadata: p.metadata ?? {},
      refundPolicy: p.refundPolicy ?? 'unspent',
      expiresAfterDays: p.expiresAfterDays ?? null,
    });
  }

  const plans = new Map<string, PlanSpec>();
  for (const p of uniqueBySlug(input.plans, 'plan').values()) {
    if (!isResetInterval(p.interval)) {
      throw new CatalogReferenceError(p.slug, `plan "${p.slug}" has interval "${p.interval}"; it must be one of ${RESET_INTERVALS.join(', ')}`);
    }
    const entitlements = uniqueBySlug(p.features, `feature of plan "${p.slug}"`);
    const specs: EntitlementSpec[] = [];
    for (const e of entitlements.values()) {
      const kind = isSystem(e.slug) ? 'credit_system' : isFeature(e.slug) ? 'feature' : null;
      if (!kind) {
        throw new CatalogReferenceError(e.slug, `plan "${p.slug}" names "${e.slug}", which is neither a feature nor a credit system`);
      }
      const boolean = kind === 'feature' && features.get(e.slug)?.type === 'boolean';
      const limitMicro = optionalMicro(e.limit, 'limit', e.slug);
      const reset = e.reset ?? (boolean ? 'never' : 'monthly');
      if (e.rollover) {
        // Only a finite allowance that resets has something unused to carry (docs/metering.md "Rollover").
        const why = boolean ? 'it is a boolean feature' : limitMicro === null ? 'its limit is unlimited' : reset === 'none' || reset === 'never' ? `its reset "${reset}" has no periods` : null;
        if (why) throw new CatalogReferenceError(e.slug, `plan "${p.slug}" gives "${e.slug}" a rollover, but ${why}`);
      }
      specs.push({
        slug: e.slug,
        kind,
        enabled: e.enabled ?? true,
        limitMicro: optionalMicro(e.limit, 'limit', e.slug),
        trialLimitMicro: optionalMicro(e.trialLimit, 'trialLimit', e.slug),
        reset: e.reset ?? (boolean ? 'never' : 'monthly'),
        overage: e.overage ?? 'block',
        creditCostMicro: kind === 'feature' ? optionalMicro(e.creditCost, 'creditCost', e.slug) : null,
        rolloverMaxMicro: e.rollover ? micro(e.rollover.max, 'rollover.max', e.slug) : null,
        rolloverPeriods: e.rollover ? e.rollover.periods : null,
      });
    }
    for (const spec of specs) assertCreditsFit(p.slug, spec, spec.creditCostMicro ?? memberCost.get(spec.slug) ?? null);
    specs.sort((a, b) => (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0));
    plans.set(p.slug, {
      slug: p.slug,
      name: p.name,
      description: p.description ?? null,
      priceMinor: BigInt(p.price),
      currency: p.currency.toUpperCase(),
      interval: p.interval,
      billingType: p.billingType ?? null,
      planGroup: p.planGroup ?? null,
      trialDays: p.trialDays ?? 0,
      provider: p.provider ?? null,
      metadata: p.metadata ?? {},
      autoEnable: p.autoEnable ?? false,
      isAddon: p.isAddon ?? false,
      entitlements: specs,
    });
  }
  return { features, creditSystems, creditPacks, plans };
}

/**
 * A plan's unit limit of a credit-system member, at its credit cost, must be a number of credits the
 * Lua ledger holds exactly (integer micro-credits below 2^53): otherwise a customer using the allowance
 * would be debited an amount no balance can represent. (A member's cost without a plan limit is checked
 * per event at ingest; a member of a system this sync leaves alone is checked there too, its cost not
 * being in the body.)
 */
function assertCreditsFit(plan: string, e: EntitlementSpec, costMicro: bigint | null): void {
  if (e.kind !== 'feature' || costMicro === null) return;
  for (const [what, limit] of [['limit', e.limitMicro], ['trialLimit', e.trialLimitMicro]] as const) {
    if (limit === null || creditsFor(limit, costMicro) <= MAX_SAFE_MICRO) continue;
    throw new CatalogReferenceError(
      e.slug,
      `plan "${plan}": ${what} ${formatMicro(limit)} of "${e.slug}" at creditCost ${formatMicro(costMicro)} is ` +
        `${formatMicro(creditsFor(limit, costMicro))} credits, more than the 2^53 - 1 micro-credits (${formatMicro(MAX_SAFE_MICRO)} credits) a balance holds exactly`,
    );
  }
}

export interface SectionDiff {
  created: string[];
  updated: string[];
  unchanged: string[];
  /** Present now, absent from the body. */
  absent: string[];
}

/** Stable text of a spec: bigint as text, object keys sorted, so equal specs compare equal. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

export function diffSection<T>(current: ReadonlyMap<string, T>, desired: ReadonlyMap<string, T>): SectionDiff {
  const diff: SectionDiff = { created: [], updated: [], unchanged: [], absent: [] };
  for (const [slug, spec] of desired) {
    const now = current.get(slug);
    if (now === undefined) diff.created.push(slug);
    else if (canonical(now) === canonical(spec)) diff.unchanged.push(slug);
    else diff.updated.push(slug);
  }
  for (const slug of current.keys()) if (!desired.has(slug)) diff.absent.push(slug);
  return diff;
}
