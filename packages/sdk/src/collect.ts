import type { SyncBody } from '@tally/contracts';
import { KIND, type CatalogItem, type CreditPackRef, type CreditSystemRef, type FeatureRef, type PlanRef } from './dsl.ts';

export class CatalogConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CatalogConfigError';
  }
}

const kindOf = (value: unknown): string | undefined =>
  (typeof value === 'object' || typeof value === 'function') && value !== null ? (value as { [KIND]?: string })[KIND] : undefined;

/**
 * Turns what a config file exports (named exports, a default export that is
 * an array or an object of DSL items, or any mix) into a POST /v1/sync body.
 * Items referenced by others (a plan's features, a credit system's members,
 * a pack's system) are included even when not exported themselves. The same
 * slug defined twice with different settings is an error.
 */
export function buildSyncBody(exported: unknown, options: { defaultProvider?: string } = {}): SyncBody {
  const features = new Map<string, FeatureRef>();
  const systems = new Map<string, CreditSystemRef>();
  const plans = new Map<string, PlanRef>();
  const packs = new Map<string, CreditPackRef>();

  const put = <T extends { slug: string; definition: unknown }>(map: Map<string, T>, item: T, kind: string) => {
    const existing = map.get(item.slug);
    if (existing && existing !== item && JSON.stringify(existing.definition) !== JSON.stringify(item.definition)) {
      throw new CatalogConfigError(`${kind} "${item.slug}" is defined twice with different settings`);
    }
    if (!existing) map.set(item.slug, item);
  };

  const visit = (value: unknown, depth: number): void => {
    const kind = kindOf(value);
    if (kind) return add(value as CatalogItem);
    if (depth > 2 || value === null || typeof value !== 'object') return;
    for (const v of Array.isArray(value) ? value : Object.values(value)) visit(v, depth + 1);
  };
  const add = (item: CatalogItem): void => {
    switch (item[KIND]) {
      case 'feature':
        return put(features, item as FeatureRef, 'feature');
      case 'creditSystem': {
        const system = item as CreditSystemRef;
        put(systems, system, 'credit system');
        for (const m of system.members) add(m.feature);
        return;
      }
      case 'plan': {
        const p = item as PlanRef;
        put(plans, p, 'plan');
        for (const e of p.entries) add(e.target);
        return;
      }
      case 'creditPack': {
        const pack = item as CreditPackRef;
        put(packs, pack, 'credit pack');
        if (pack.creditSystemRef) add(pack.creditSystemRef);
        return;
      }
    }
  };
  visit(exported, 0);

  return {
    ...(options.defaultProvider ? { defaultProvider: options.defaultProvider } : {}),
    features: [...features.values()].map((f) => f.definition),
    creditSystems: [...systems.values()].map((s) => ({
      ...s.definition,
      features: s.members.map((m) => ({ feature: m.feature.slug, creditCost: m.creditCost })),
    })),
    creditPacks: [...packs.values()].map((p) => p.definition),
    plans: [...plans.values()].map((p) => ({ ...p.definition, features: p.entries.map((e) => e.value) })),
  };
}
