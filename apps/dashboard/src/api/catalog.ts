import { get, post } from './http.ts';

// The catalog in the shape POST /v1/sync takes, as GET /v1/catalog answers it (metadata and billingType
// included), so an edit resends everything and changes only what the operator changed.
export interface SyncFeature { slug: string; name?: string; type: 'metered' | 'boolean'; meterType?: 'consumable' | 'non_consumable' }
export interface SyncCreditSystem { slug: string; name: string; description?: string | null; features: { feature: string; creditCost: number }[] }
export interface SyncCreditPack {
  slug: string; name: string; description?: string | null; credits: number; price: number; currency: string; creditSystem: string;
  provider?: string | null; metadata?: Record<string, unknown> | null; refundPolicy?: 'unspent' | 'full'; expiresAfterDays?: number | null;
}
export interface SyncPlanFeature {
  slug: string; enabled?: boolean; limit?: number | null; trialLimit?: number | null; reset?: string; overage?: 'block' | 'charge';
  creditCost?: number | null; rollover?: { max: number; periods: number } | null;
}
export interface SyncPlan {
  slug: string; name: string; description?: string | null; price: number; currency: string; interval: string; billingType?: string | null;
  planGroup?: string | null; trialDays?: number; provider?: string | null; metadata?: Record<string, unknown> | null; autoEnable?: boolean;
  isAddon?: boolean; features: SyncPlanFeature[];
}
export interface CatalogBody { defaultProvider?: string; features: SyncFeature[]; creditSystems: SyncCreditSystem[]; creditPacks: SyncCreditPack[]; plans: SyncPlan[] }
export interface Catalog extends CatalogBody { version: number }

export async function readCatalog(): Promise<Catalog> {
  const res = await get<{ version: number; catalog: CatalogBody }>('/v1/catalog');
  return { ...res.catalog, version: res.version };
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
 * `tally sync`, so the version is bumped and `tally diff` sees the edit). Sync keeps features and credit
 * systems it is not sent, archives packs and deletes plans it is not sent.
 */
export async function editCatalog(change: (c: CatalogBody) => CatalogBody, dryRun = false): Promise<SyncReport> {
  const { version: _version, ...current } = await readCatalog();
  return post<SyncReport>('/v1/sync', { ...change(structuredClone(current)), dryRun });
}

/** "AI Credits" → "ai-credits": a slug the sync accepts. */
export const slugify = (name: string): string =>
  name.trim().toLowerCase().replace(/[^a-z0-9_.:-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 128) || 'item';

/** Replaces the item with the same slug, or appends it. */
export const upsert = <T extends { slug: string }>(items: T[], item: T): T[] =>
  items.some((i) => i.slug === item.slug) ? items.map((i) => (i.slug === item.slug ? item : i)) : [...items, item];
