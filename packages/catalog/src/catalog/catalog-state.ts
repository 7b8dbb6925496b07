import type { CatalogSpec, CreditPackSpec, CreditSystemSpec, EntitlementSpec, FeatureSpec, PlanSpec } from '@tally/core';
import type { Queryable } from '@tally/postgres';

/** The tenant's stored catalog in the same shape as a sync's desired catalog, plus row ids. */
export interface CatalogState extends CatalogSpec {
  ids: {
    features: Map<string, string>;
    creditSystems: Map<string, string>;
    creditPacks: Map<string, string>;
    plans: Map<string, string>;
  };
  archivedPacks: Set<string>;
  defaultProvider: string;
  version: bigint;
}

const bySlug = <T extends { slug: string }>(a: T, b: T) => (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0);

/** Reads the catalog for a sync. Locks the tenant's version row first, so syncs of one tenant run one at a time. */
export async function loadCatalogState(db: Queryable, tenantId: string): Promise<CatalogState> {
  await db.query('INSERT INTO catalog_versions (tenant_id, version) VALUES ($1, 0) ON CONFLICT (tenant_id) DO NOTHING', [tenantId]);
  const head = await db.query<{ version: bigint; default_provider: string }>(
    `SELECT v.version, t.default_provider FROM catalog_versions v JOIN tenants t ON t.id = v.tenant_id
      WHERE v.tenant_id = $1 FOR UPDATE OF v`,
    [tenantId],
  );
  const features = await db.query<FeatureSpec & { id: string }>(
    'SELECT id, slug, name, type, meter_type AS "meterType" FROM features WHERE tenant_id = $1',
    [tenantId],
  );
  const systems = await db.query<{ id: string; slug: string; name: string; description: string | null }>(
    'SELECT id, slug, name, description FROM credit_systems WHERE tenant_id = $1',
    [tenantId],
  );
  const members = await db.query<{ system_id: string; feature: string; cost: bigint }>(
    `SELECT m.credit_system_id AS system_id, f.slug AS feature, m.credit_cost_micro AS cost
       FROM credit_system_features m JOIN features f ON f.id = m.feature_id
      WHERE m.tenant_id = $1 ORDER BY f.slug`,
    [tenantId],
  );
  const packs = await db.query<Omit<CreditPackSpec, 'creditSystem'> & { id: string; creditSystem: string; archived: boolean }>(
    `SELECT p.id, p.slug, p.name, p.description, p.credits_micro AS "creditsMicro", p.price_minor AS "priceMinor", p.currency,
            s.slug AS "creditSystem", p.provider, p.metadata, p.refund_policy AS "refundPolicy",
            p.expires_after_days AS "expiresAfterDays", p.archived_at IS NOT NULL AS archived
       FROM credit_packs p JOIN credit_systems s ON s.id = p.credit_system_id
      WHERE p.tenant_id = $1`,
    [tenantId],
  );
  const plans = await db.query<Omit<PlanSpec, 'entitlements'> & { id: string }>(
    `SELECT id, slug, name, description, price_minor AS "priceMinor", currency, interval, billing_type AS "billingType",
            plan_group AS "planGroup", trial_days AS "trialDays", provider, metadata, auto_enable AS "autoEnable", is_addon AS "isAddon"
       FROM plans WHERE tenant_id = $1`,
    [tenantId],
  );
  const entitlements = await db.query<EntitlementSpec & { plan_id: string }>(
    `SELECT plan_id, slug, CASE WHEN credit_system_id IS NULL THEN 'feature' ELSE 'credit_system' END AS kind, enabled,
            limit_micro AS "limitMicro", trial_limit_micro AS "trialLimitMicro", reset, overage, credit_cost_micro AS "creditCostMicro",
            rollover_max_micro AS "rolloverMaxMicro", rollover_periods AS "rolloverPeriods"
       FROM plan_entitlements WHERE tenant_id = $1 ORDER BY slug`,
    [tenantId],
  );

  const state: CatalogState = {
    features: new Map(),
    creditSystems: new Map(),
    creditPacks: new Map(),
    plans: new Map(),
    ids: { features: new Map(), creditSystems: new Map(), creditPacks: new Map(), plans: new Map() },
    archivedPacks: new Set(),
    defaultProvider: head.rows[0]?.default_provider ?? 'sandbox',
    version: head.rows[0]?.version ?? 0n,
  };
  for (const { id, ...f } of features.rows) {
    state.features.set(f.slug, f);
    state.ids.features.set(f.slug, id);
  }
  const systemSlug = new Map<string, string>();
  for (const s of systems.rows) {
    const spec: CreditSystemSpec = { slug: s.slug, name: s.name, description: s.description, members: [] };
    state.creditSystems.set(s.slug, spec);
    state.ids.creditSystems.set(s.slug, s.id);
    systemSlug.set(s.id, s.slug);
  }
  for (const m of members.rows) {
    const slug = systemSlug.get(m.system_id);
    if (slug) state.creditSystems.get(slug)?.members.push([m.feature, m.cost]);
  }
  for (const { id, archived, ...p } of packs.rows) {
    state.creditPacks.set(p.slug, p);
    state.ids.creditPacks.set(p.slug, id);
    if (archived) state.archivedPacks.add(p.slug);
  }
  const planSlug = new Map<string, string>();
  for (const { id, ...p } of plans.rows) {
    state.plans.set(p.slug, { ...p, entitlements: [] });
    state.ids.plans.set(p.slug, id);
    planSlug.set(id, p.slug);
  }
  for (const { plan_id, ...e } of entitlements.rows) {
    const slug = planSlug.get(plan_id);
    if (slug) state.plans.get(slug)?.entitlements.push(e);
  }
  for (const p of state.plans.values()) p.entitlements.sort(bySlug);
  return state;
}
