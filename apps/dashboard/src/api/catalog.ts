import { ApiError, get, post } from './http.ts';
import type { CreditPackView, CreditSystemView, FeatureView, PlanView } from './types.ts';

/** The tenant's catalog as the dashboard edits it: read from the /v1 catalog views, written back whole through POST /v1/sync. */
export interface Catalog {
  features: FeatureView[];
  /** false when the API has no feature list: `features` is then only what plans and credit systems name. */
  featuresListed: boolean;
  creditSystems: CreditSystemView[];
  creditPacks: CreditPackView[];
  plans: PlanView[];
}

async function readFeatures(): Promise<FeatureView[] | null> {
  try {
    const res = await get<{ features: FeatureView[] }>('/v1/features');
    return res.features;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

export async function readCatalog(): Promise<Catalog> {
  const [features, systems, packs, plans] = await Promise.all([
    readFeatures(),
    get<{ creditSystems: CreditSystemView[] }>('/v1/credit-systems'),
    get<{ creditPacks: CreditPackView[] }>('/v1/credit-packs'),
    get<{ plans: PlanView[] }>('/v1/plans'),
  ]);
  const creditSystems = systems.creditSystems;
  const known = new Map<string, FeatureView>((features ?? []).map((f) => [f.slug, f]));
  if (!features) {
    // Without a list, the features the catalog names: credit system members and plan features that are not credit systems.
    const systemSlugs = new Set(creditSystems.map((s) => s.slug));
    for (const s of creditSystems) for (const m of s.features) known.set(m.feature, { slug: m.feature, name: m.feature, type: 'metered' });
    for (const p of plans.plans) {
      for (const f of p.features) if (f.type === 'feature' && !systemSlugs.has(f.slug) && !known.has(f.slug)) known.set(f.slug, { slug: f.slug, name: f.slug, type: 'metered' });
    }
  }
  return { features: [...known.values()], featuresListed: features !== null, creditSystems, creditPacks: packs.creditPacks, plans: plans.plans };
}

/** Sync body of a catalog. Sync keeps features and credit systems it is not sent, archives packs and deletes plans it is not sent. */
export function toSyncBody(c: Catalog, newFeatures: FeatureView[] = []) {
  const features = c.featuresListed ? c.features : newFeatures;
  return {
    features: features.map((f) => ({ slug: f.slug, name: f.name, type: f.type, ...(f.meterType ? { meterType: f.meterType } : {}) })),
    creditSystems: c.creditSystems.map((s) => ({ slug: s.slug, name: s.name, description: s.description, features: s.features })),
    creditPacks: c.creditPacks.map((p) => ({
      slug: p.slug, name: p.name, description: p.description, credits: p.credits, price: p.price, currency: p.currency,
      creditSystem: p.creditSystem, provider: p.provider, refundPolicy: p.refundPolicy, expiresAfterDays: p.expiresAfterDays,
    })),
    plans: c.plans.map((p) => ({
      slug: p.slug, name: p.name, description: p.description, price: p.price, currency: p.currency, interval: p.interval,
      planGroup: p.planGroup, trialDays: p.trialDays, provider: p.provider, autoEnable: p.autoEnable, isAddon: p.isAddon,
      features: p.features.map((f) => ({
        slug: f.slug, enabled: f.enabled, limit: f.limit, trialLimit: f.trialLimit, reset: f.reset, overage: f.overage, creditCost: f.creditCost,
        ...(f.rollover ? { rollover: f.rollover } : {}),
      })),
    })),
  };
}

export interface SyncReport {
  version: number;
  dryRun: boolean;
  warnings: string[];
  features: SectionReport; creditSystems: SectionReport; creditPacks: SectionReport; plans: SectionReport;
}
interface SectionReport { created: string[]; updated: string[]; unchanged: string[]; removed: string[] }

/**
 * Every dashboard edit: read the current catalog, change it, sync the whole of it (the same engine as
 * `tally sync`, so the version is bumped and `tally diff` sees the edit).
 */
export async function editCatalog(change: (c: Catalog) => { catalog: Catalog; newFeatures?: FeatureView[] }, dryRun = false): Promise<SyncReport> {
  const current = await readCatalog();
  const { catalog, newFeatures } = change(structuredClone(current));
  return post<SyncReport>('/v1/sync', { ...toSyncBody(catalog, newFeatures), dryRun });
}

/** "AI Credits" → "ai-credits": a slug the sync accepts. */
export const slugify = (name: string): string =>
  name.trim().toLowerCase().replace(/[^a-z0-9_.:-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 128) || 'item';
