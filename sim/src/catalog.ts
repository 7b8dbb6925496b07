import type { Rng } from './rng.ts';

/** The sim's copy of a tenant's catalog: exactly the body it last synced (POST /v1/sync). */
export interface PlanFeature {
  slug: string;
  enabled: boolean;
  limit: number | null;
  reset: string;
  overage: 'block' | 'charge';
  creditCost?: number;
}
export interface CatalogBody {
  features: { slug: string; type: 'metered'; name: string }[];
  creditSystems: { slug: string; name: string; features: { feature: string; creditCost: number }[] }[];
  creditPacks: { slug: string; name: string; credits: number; price: number; currency: string; creditSystem: string; provider: 'sandbox' }[];
  plans: { slug: string; name: string; price: number; currency: string; interval: string; features: PlanFeature[] }[];
}

export const SYSTEM = 'credits';
export const PLANS = ['basic', 'plus', 'pro'] as const;

export function initialCatalog(): CatalogBody {
  return {
    features: ['gpt', 'img', 'tok', 'api'].map((slug) => ({ slug, type: 'metered', name: slug })),
    creditSystems: [{ slug: SYSTEM, name: 'Credits', features: [{ feature: 'gpt', creditCost: 20 }, { feature: 'img', creditCost: 2.5 }, { feature: 'tok', creditCost: 0.001 }] }],
    creditPacks: [{ slug: 'p100', name: '100 credits', credits: 100, price: 500, currency: 'USD', creditSystem: SYSTEM, provider: 'sandbox' }],
    plans: [
      plan('basic', [
        { slug: SYSTEM, enabled: true, limit: 150, reset: 'monthly', overage: 'block' }, // small: purchased credits get spent
        { slug: 'api', enabled: true, limit: 50, reset: 'monthly', overage: 'block' },
      ]),
      plan('plus', [
        { slug: SYSTEM, enabled: true, limit: 5000, reset: 'monthly', overage: 'charge' },
        { slug: 'gpt', enabled: true, limit: null, reset: 'monthly', overage: 'charge', creditCost: 15 },
        { slug: 'api', enabled: true, limit: 200, reset: 'monthly', overage: 'charge' },
      ]),
      plan('pro', [{ slug: SYSTEM, enabled: true, limit: 20000, reset: 'monthly', overage: 'charge' }]),
    ],
  };
}

function plan(slug: string, features: PlanFeature[]) {
  return { slug, name: slug, price: 0, currency: 'USD', interval: 'monthly', features };
}

const COSTS = [0.5, 1, 2.5, 7, 20, 33.333333, 0.001, 0.25];
const LIMITS = [200, 500, 1000, 3000, 5000, 12.5];

export type CatalogChange =
  | 'cost' | 'add-feature' | 'add-member' | 'remove-member' | 'add-pack' | 'archive-pack' | 'plan-limit' | 'plan-overage' | 'plan-reset';

/** Applies one random change of `kind` to a copy of the body; null when that change is not possible now. */
export function changeCatalog(body: CatalogBody, kind: CatalogChange, rng: Rng, counter: number, allowReset: boolean): { body: CatalogBody; what: string } | null {
  const next = structuredClone(body);
  const system = next.creditSystems[0]!;
  const members = new Set(system.features.map((m) => m.feature));
  const standalone = next.features.filter((f) => !members.has(f.slug) && f.slug !== 'api');
  switch (kind) {
    case 'cost': {
      const m = rng.pick(system.features);
      m.creditCost = rng.pick(COSTS.filter((c) => c !== m.creditCost));
      return { body: next, what: `cost of ${m.feature} -> ${m.creditCost}` };
    }
    case 'add-feature': {
      if (next.features.length >= 10) return null;
      const slug = `f${counter}`;
      next.features.push({ slug, type: 'metered', name: slug });
      return { body: next, what: `add feature ${slug} (standalone, in no plan)` };
    }
    case 'add-member': {
      if (standalone.length === 0) return null;
      const f = rng.pick(standalone);
      const creditCost = rng.pick(COSTS);
      system.features.push({ feature: f.slug, creditCost });
      return { body: next, what: `add member ${f.slug} at ${creditCost}` };
    }
    case 'remove-member': {
      const removable = system.features.filter((m) => m.feature !== 'gpt');
      if (removable.length === 0) return null;
      const m = rng.pick(removable);
      system.features = system.features.filter((x) => x !== m);
      return { body: next, what: `remove member ${m.feature} (it becomes a standalone feature)` };
    }
    case 'add-pack': {
      if (next.creditPacks.length >= 4) return null;
      const slug = `p${counter}`;
      next.creditPacks.push({ slug, name: slug, credits: rng.pick([50, 100, 250.5, 33.333333]), price: 300, currency: 'USD', creditSystem: SYSTEM, provider: 'sandbox' });
      return { body: next, what: `add pack ${slug}` };
    }
    case 'archive-pack': {
      if (next.creditPacks.length <= 1) return null;
      const p = rng.pick(next.creditPacks.slice(1));
      next.creditPacks = next.creditPacks.filter((x) => x !== p);
      return { body: next, what: `archive pack ${p.slug}` };
    }
    case 'plan-limit':
    case 'plan-overage':
    case 'plan-reset': {
      if (kind === 'plan-reset' && !allowReset) return null;
      const p = rng.pick(next.plans);
      const e = rng.pick(p.features.filter((f) => f.limit !== null));
      if (kind === 'plan-limit') e.limit = rng.pick(LIMITS.filter((l) => l !== e.limit));
      else if (kind === 'plan-overage') e.overage = e.overage === 'block' ? 'charge' : 'block';
      else e.reset = e.reset === 'monthly' ? 'weekly' : 'monthly';
      return { body: next, what: `plan ${p.slug} ${e.slug}: limit ${e.limit}, ${e.overage}, ${e.reset}` };
    }
  }
}

/** Every metered feature of the body (what events may name). */
export const featureSlugs = (body: CatalogBody) => body.features.map((f) => f.slug);
