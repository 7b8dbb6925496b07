import type {
  CatalogSnapshot,
  CreditPackDef,
  CreditSystemDef,
  EntitlementDef,
  FeatureDef,
  Overage,
  PlanDef,
  ResetInterval,
} from '@tally/core';
import type { Queryable } from '@tally/postgres';
import { catalogErrors } from '../errors.ts';

/** Reads one tenant's whole catalog from Postgres into the domain's read model. */
export async function loadSnapshot(db: Queryable, tenantId: string): Promise<CatalogSnapshot> {
  // Sequential on purpose: `db` may be one client inside a transaction.
  const version = await db.query<{ version: bigint | null; default_provider: string }>(
    `SELECT v.version, t.default_provider
       FROM tenants t LEFT JOIN catalog_versions v ON v.tenant_id = t.id
      WHERE t.id = $1`,
    [tenantId],
  );
  const features = await db.query<{ id: string; slug: string; name: string; type: 'metered' | 'boolean'; meter_type: 'consumable' | 'non_consumable' }>(
    'SELECT id, slug, name, type, meter_type FROM features WHERE tenant_id = $1 ORDER BY slug',
    [tenantId],
  );
  const systems = await db.query<{ id: string; slug: string; name: string; description: string | null }>(
    'SELECT id, slug, name, description FROM credit_systems WHERE tenant_id = $1 ORDER BY slug',
    [tenantId],
  );
  const members = await db.query<{ system_slug: string; feature_slug: string; credit_cost_micro: bigint }>(
    `SELECT s.slug AS system_slug, f.slug AS feature_slug, m.credit_cost_micro
       FROM credit_system_features m
       JOIN credit_systems s ON s.id = m.credit_system_id
       JOIN features f ON f.id = m.feature_id
      WHERE m.tenant_id = $1`,
    [tenantId],
  );
  const plans = await db.query<{
    id: string; slug: string; name: string; description: string | null; price_minor: bigint; currency: string;
    interval: string; trial_days: number; provider: string | null; auto_enable: boolean; is_addon: boolean;
    plan_group: string | null;
  }>(
    `SELECT id, slug, name, description, price_minor, currency, interval, trial_days, provider, auto_enable, is_addon, plan_group
       FROM plans WHERE tenant_id = $1 ORDER BY slug`,
    [tenantId],
  );
  const entitlements = await db.query<{
    plan_id: string; slug: string; credit_system_id: string | null; enabled: boolean; limit_micro: bigint | null;
    trial_limit_micro: bigint | null; reset: ResetInterval; overage: Overage; credit_cost_micro: bigint | null;
    rollover_max_micro: bigint | null; rollover_periods: number | null;
  }>(
    `SELECT plan_id, slug, credit_system_id, enabled, limit_micro, trial_limit_micro, reset, overage, credit_cost_micro,
            rollover_max_micro, rollover_periods
       FROM plan_entitlements WHERE tenant_id = $1 ORDER BY slug`,
    [tenantId],
  );
  const packs = await db.query<{
    id: string; slug: string; name: string; description: string | null; credits_micro: bigint; price_minor: bigint;
    currency: string; system_slug: string; provider: string | null; archived_at: Date | null; refund_policy: 'unspent' | 'full';
    expires_after_days: number | null;
  }>(
    `SELECT p.id, p.slug, p.name, p.description, p.credits_micro, p.price_minor, p.currency, s.slug AS system_slug,
            p.provider, p.archived_at, p.refund_policy, p.expires_after_days
       FROM credit_packs p JOIN credit_systems s ON s.id = p.credit_system_id
      WHERE p.tenant_id = $1 ORDER BY p.slug`,
    [tenantId],
  );

  const head = version.rows[0];
  if (!head) throw catalogErrors.tenant_not_found(`unknown tenant ${tenantId}`);

  const memberOf = new Map<string, { slug: string; costMicro: bigint }>();
  const creditSystems = new Map<string, CreditSystemDef>();
  for (const s of systems.rows) {
    creditSystems.set(s.slug, { id: s.id, slug: s.slug, name: s.name, description: s.description, members: new Map() });
  }
  for (const m of members.rows) {
    creditSystems.get(m.system_slug)?.members.set(m.feature_slug, m.credit_cost_micro);
    memberOf.set(m.feature_slug, { slug: m.system_slug, costMicro: m.credit_cost_micro });
  }

  const featureMap = new Map<string, FeatureDef>();
  for (const f of features.rows) {
    featureMap.set(f.slug, {
      id: f.id,
      slug: f.slug,
      name: f.name,
      type: f.type,
      meterType: f.meter_type,
      creditSystem: memberOf.get(f.slug) ?? null,
    });
  }

  const entitlementsByPlan = new Map<string, Map<string, EntitlementDef>>();
  for (const e of entitlements.rows) {
    let map = entitlementsByPlan.get(e.plan_id);
    if (!map) entitlementsByPlan.set(e.plan_id, (map = new Map()));
    map.set(e.slug, {
      slug: e.slug,
      kind: e.credit_system_id ? 'credit_system' : 'feature',
      enabled: e.enabled,
      limitMicro: e.limit_micro,
      trialLimitMicro: e.trial_limit_micro,
      reset: e.reset,
      overage: e.overage,
      creditCostMicro: e.credit_cost_micro,
      rollover: e.rollover_max_micro !== null && e.rollover_periods !== null ? { maxMicro: e.rollover_max_micro, periods: e.rollover_periods } : null,
    });
  }

  const planMap = new Map<string, PlanDef>();
  for (const p of plans.rows) {
    planMap.set(p.slug, {
      id: p.id,
      slug: p.slug,
      name: p.name,
      description: p.description,
      priceMinor: p.price_minor,
      currency: p.currency,
      interval: p.interval,
      trialDays: p.trial_days,
      provider: p.provider,
      autoEnable: p.auto_enable,
      isAddon: p.is_addon,
      planGroup: p.plan_group,
      entitlements: entitlementsByPlan.get(p.id) ?? new Map(),
    });
  }

  const packMap = new Map<string, CreditPackDef>();
  for (const p of packs.rows) {
    packMap.set(p.slug, {
      id: p.id,
      slug: p.slug,
      name: p.name,
      description: p.description,
      creditsMicro: p.credits_micro,
      priceMinor: p.price_minor,
      currency: p.currency,
      creditSystem: p.system_slug,
      provider: p.provider,
      archived: p.archived_at !== null,
      refundPolicy: p.refund_policy,
      expiresAfterDays: p.expires_after_days,
    });
  }

  return {
    tenantId,
    version: head.version ?? 0n,
    defaultProvider: head.default_provider,
    features: featureMap,
    creditSystems,
    plans: planMap,
    creditPacks: packMap,
  };
}
