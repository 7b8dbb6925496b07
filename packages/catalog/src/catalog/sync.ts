import { randomUUID } from 'node:crypto';
import {
  buildCatalogSpec,
  canonical,
  CatalogReferenceError,
  diffSection,
  type CatalogSpec,
  type SectionDiff,
  type SyncInput,
} from '@tally/core';
import type { PoolClient } from '@tally/postgres';
import { catalogErrors } from '../errors.ts';
import { loadCatalogState, type CatalogState } from './catalog-state.ts';

export interface SectionReport {
  created: string[];
  updated: string[];
  unchanged: string[];
  removed: string[];
}

export interface SyncReport {
  changed: boolean;
  version: bigint;
  features: SectionReport;
  creditSystems: SectionReport;
  creditPacks: SectionReport;
  plans: SectionReport;
  warnings: string[];
}

const report = (d: SectionDiff, removed: string[] = []): SectionReport => ({
  created: d.created,
  updated: d.updated,
  unchanged: d.unchanged,
  removed,
});

async function tableExists(db: PoolClient, name: string): Promise<boolean> {
  const { rows } = await db.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [name]);
  return rows[0]?.present ?? false;
}

/**
 * Reconciles a tenant's catalog with `input` inside the caller's transaction
 * (the caller commits, or rolls back for a dry run). Order matters: features
 * before the credit systems naming them, systems before packs and plans, and
 * old memberships removed before new ones are added (a feature belongs to at
 * most one system). The version is bumped only when something changed, so a
 * repeated sync leaves every cache warm.
 */
export async function applySync(db: PoolClient, tenantId: string, input: SyncInput): Promise<SyncReport> {
  const state = await loadCatalogState(db, tenantId);
  let spec: CatalogSpec;
  try {
    spec = buildCatalogSpec(input, {
      features: new Set(state.features.keys()),
      creditSystems: new Set(state.creditSystems.keys()),
      membership: new Map(
        [...state.creditSystems.values()].flatMap((s) => s.members.map(([feature]) => [feature, s.slug] as [string, string])),
      ),
    });
  } catch (err) {
    if (err instanceof CatalogReferenceError) throw catalogErrors.catalog_reference_error(err.message, { details: { slug: err.slug } });
    throw err;
  }
  const warnings: string[] = [];

  const features = diffSection(state.features, spec.features);
  const systems = diffSection(state.creditSystems, spec.creditSystems);
  const plans = diffSection(state.plans, spec.plans);
  await applyFeatures(db, tenantId, state, spec, features);
  for (const slug of features.absent) warnings.push(`feature "${slug}" is not in the config; kept (sync never deletes features)`);
  await applyCreditSystems(db, tenantId, state, spec, systems);
  for (const slug of systems.absent) warnings.push(`credit system "${slug}" is not in the config; kept (sync never deletes credit systems)`);
  const packs = await applyCreditPacks(db, tenantId, state, spec, warnings);
  const removedPlans = await applyPlans(db, tenantId, state, spec, plans, warnings);

  let changed = [features, systems, plans].some((d) => d.created.length + d.updated.length > 0) || packs.changed || removedPlans.length > 0;
  if (input.defaultProvider && input.defaultProvider !== state.defaultProvider) {
    await db.query('UPDATE tenants SET default_provider = $2 WHERE id = $1', [tenantId, input.defaultProvider]);
    changed = true;
  }
  let version = state.version;
  if (changed) {
    const { rows } = await db.query<{ version: bigint }>(
      'UPDATE catalog_versions SET version = version + 1 WHERE tenant_id = $1 RETURNING version',
      [tenantId],
    );
    version = rows[0]?.version ?? version + 1n;
  }
  return {
    changed,
    version,
    features: report(features),
    creditSystems: report(systems),
    creditPacks: packs.report,
    plans: report(plans, removedPlans),
    warnings,
  };
}

async function applyFeatures(db: PoolClient, tenantId: string, state: CatalogState, spec: CatalogSpec, d: SectionDiff) {
  for (const slug of d.created) {
    const f = spec.features.get(slug)!;
    const id = randomUUID();
    await db.query('INSERT INTO features (id, tenant_id, slug, name, type, meter_type) VALUES ($1, $2, $3, $4, $5, $6)', [
      id, tenantId, f.slug, f.name, f.type, f.meterType,
    ]);
    state.ids.features.set(slug, id);
  }
  for (const slug of d.updated) {
    const f = spec.features.get(slug)!;
    await db.query('UPDATE features SET name = $3, type = $4, meter_type = $5, updated_at = now() WHERE tenant_id = $1 AND slug = $2', [
      tenantId, slug, f.name, f.type, f.meterType,
    ]);
  }
}

async function applyCreditSystems(db: PoolClient, tenantId: string, state: CatalogState, spec: CatalogSpec, d: SectionDiff) {
  for (const slug of d.created) {
    const s = spec.creditSystems.get(slug)!;
    const id = randomUUID();
    await db.query('INSERT INTO credit_systems (id, tenant_id, slug, name, description) VALUES ($1, $2, $3, $4, $5)', [
      id, tenantId, s.slug, s.name, s.description,
    ]);
    state.ids.creditSystems.set(slug, id);
  }
  for (const slug of d.updated) {
    const s = spec.creditSystems.get(slug)!;
    await db.query('UPDATE credit_systems SET name = $3, description = $4, updated_at = now() WHERE tenant_id = $1 AND slug = $2', [
      tenantId, slug, s.name, s.description,
    ]);
  }
  // Memberships are replaced wholesale for every system that changed: delete all first, then insert.
  const touched = [...d.created, ...d.updated];
  for (const slug of touched) {
    await db.query('DELETE FROM credit_system_features WHERE tenant_id = $1 AND credit_system_id = $2', [tenantId, state.ids.creditSystems.get(slug)]);
  }
  for (const slug of touched) {
    for (const [feature, cost] of spec.creditSystems.get(slug)!.members) {
      await db.query(
        'INSERT INTO credit_system_features (credit_system_id, feature_id, tenant_id, credit_cost_micro) VALUES ($1, $2, $3, $4)',
        [state.ids.creditSystems.get(slug), state.ids.features.get(feature), tenantId, cost],
      );
    }
  }
}

async function applyCreditPacks(
  db: PoolClient,
  tenantId: string,
  state: CatalogState,
  spec: CatalogSpec,
  warnings: string[],
): Promise<{ report: SectionReport; changed: boolean }> {
  // The purchases table belongs to billing (migration 0004); before it exists no pack has purchases.
  const sold = new Set<string>();
  if (state.creditPacks.size > 0 && (await tableExists(db, 'purchases'))) {
    const { rows } = await db.query<{ pack_id: string }>('SELECT DISTINCT pack_id FROM purchases WHERE tenant_id = $1', [tenantId]);
    const slugById = new Map([...state.ids.creditPacks].map(([slug, id]) => [id, slug]));
    for (const r of rows) {
      const slug = slugById.get(r.pack_id);
      if (slug) sold.add(slug);
    }
  }
  // A pack with purchases keeps its credits and credit system: purchases and grants refer to them.
  for (const [slug, desired] of spec.creditPacks) {
    const current = state.creditPacks.get(slug);
    if (!current || !sold.has(slug)) continue;
    if (current.creditsMicro !== desired.creditsMicro || current.creditSystem !== desired.creditSystem) {
      warnings.push(`credit pack "${slug}" has purchases; its credits and credit system were not changed`);
      spec.creditPacks.set(slug, { ...desired, creditsMicro: current.creditsMicro, creditSystem: current.creditSystem });
    }
  }
  const d = diffSection(state.creditPacks, spec.creditPacks);
  // An archived pack listed again is restored: that is an update even when its fields are equal.
  const restored = d.unchanged.filter((slug) => state.archivedPacks.has(slug));
  const updated = [...d.updated, ...restored];
  const unchanged = d.unchanged.filter((slug) => !state.archivedPacks.has(slug));

  for (const slug of d.created) {
    const p = spec.creditPacks.get(slug)!;
    await db.query(
      `INSERT INTO credit_packs (id, tenant_id, slug, name, description, credits_micro, price_minor, currency, credit_system_id, provider, metadata, refund_policy, expires_after_days)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13)`,
      [randomUUID(), tenantId, p.slug, p.name, p.description, p.creditsMicro, p.priceMinor, p.currency,
        state.ids.creditSystems.get(p.creditSystem), p.provider, JSON.stringify(p.metadata), p.refundPolicy, p.expiresAfterDays],
    );
  }
  for (const slug of updated) {
    const p = spec.creditPacks.get(slug)!;
    await db.query(
      `UPDATE credit_packs SET name = $3, description = $4, credits_micro = $5, price_minor = $6, currency = $7,
              credit_system_id = $8, provider = $9, metadata = $10::jsonb, refund_policy = $11, expires_after_days = $12, archived_at = NULL, updated_at = now()
        WHERE tenant_id = $1 AND slug = $2`,
      [tenantId, slug, p.name, p.description, p.creditsMicro, p.priceMinor, p.currency,
        state.ids.creditSystems.get(p.creditSystem), p.provider, JSON.stringify(p.metadata), p.refundPolicy, p.expiresAfterDays],
    );
  }
  // Packs left out of the config are archived (no longer for sale), never deleted: a pack
  // with purchases stays for sale and is reported, since removing it is not sync's call.
  const removed: string[] = [];
  for (const slug of d.absent) {
    if (state.archivedPacks.has(slug)) continue;
    if (sold.has(slug)) {
      warnings.push(`credit pack "${slug}" is not in the config but has purchases; not removed`);
      continue;
    }
    await db.query('UPDATE credit_packs SET archived_at = now(), updated_at = now() WHERE tenant_id = $1 AND slug = $2', [tenantId, slug]);
    removed.push(slug);
  }
  return {
    report: { created: d.created, updated, unchanged, removed },
    changed: d.created.length + updated.length + removed.length > 0,
  };
}

async function applyPlans(
  db: PoolClient,
  tenantId: string,
  state: CatalogState,
  spec: CatalogSpec,
  d: SectionDiff,
  warnings: string[],
): Promise<string[]> {
  for (const slug of d.created) {
    const id = randomUUID();
    state.ids.plans.set(slug, id);
    const p = spec.plans.get(slug)!;
    await db.query(
      `INSERT INTO plans (id, tenant_id, slug, name, description, price_minor, currency, interval, billing_type, plan_group,
                          trial_days, provider, metadata, auto_enable, is_addon)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $15)`,
      [id, tenantId, p.slug, p.name, p.description, p.priceMinor, p.currency, p.interval, p.billingType, p.planGroup,
        p.trialDays, p.provider, JSON.stringify(p.metadata), p.autoEnable, p.isAddon],
    );
  }
  for (const slug of d.updated) {
    const p = spec.plans.get(slug)!;
    await db.query(
      `UPDATE plans SET name = $3, description = $4, price_minor = $5, currency = $6, interval = $7, billing_type = $8,
              plan_group = $9, trial_days = $10, provider = $11, metadata = $12::jsonb, auto_enable = $13, is_addon = $14,
              updated_at = now()
        WHERE tenant_id = $1 AND slug = $2`,
      [tenantId, slug, p.name, p.description, p.priceMinor, p.currency, p.interval, p.billingType, p.planGroup,
        p.trialDays, p.provider, JSON.stringify(p.metadata), p.autoEnable, p.isAddon],
    );
  }
  for (const slug of [...d.created, ...d.updated]) {
    const planId = state.ids.plans.get(slug);
    const p = spec.plans.get(slug)!;
    // Only rewrite entitlements when they differ (a name change leaves them alone).
    if (canonical(state.plans.get(slug)?.entitlements ?? null) === canonical(p.entitlements)) continue;
    await db.query('DELETE FROM plan_entitlements WHERE tenant_id = $1 AND plan_id = $2', [tenantId, planId]);
    for (const e of p.entitlements) {
      await db.query(
        `INSERT INTO plan_entitlements (plan_id, tenant_id, feature_id, credit_system_id, slug, enabled, limit_micro,
                                        trial_limit_micro, reset, overage, credit_cost_micro, rollover_max_micro, rollover_periods)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        [planId, tenantId, e.kind === 'feature' ? state.ids.features.get(e.slug) : null,
          e.kind === 'credit_system' ? state.ids.creditSystems.get(e.slug) : null,
          e.slug, e.enabled, e.limitMicro, e.trialLimitMicro, e.reset, e.overage, e.creditCostMicro, e.rolloverMaxMicro, e.rolloverPeriods],
      );
    }
  }
  // Plans left out of the config are deleted unless a customer ever subscribed to them.
  const removed: string[] = [];
  for (const slug of d.absent) {
    const planId = state.ids.plans.get(slug);
    const { rows } = await db.query('SELECT 1 FROM subscriptions WHERE tenant_id = $1 AND plan_id = $2 LIMIT 1', [tenantId, planId]);
    if (rows.length) {
      warnings.push(`plan "${slug}" is not in the config but has subscriptions; not removed`);
      continue;
    }
    await db.query('DELETE FROM plans WHERE tenant_id = $1 AND id = $2', [tenantId, planId]);
    removed.push(slug);
  }
  return removed;
}
