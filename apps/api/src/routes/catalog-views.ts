import { fromMicro, type CatalogSnapshot, type CreditPackDef, type CreditSystemDef, type PlanDef } from '@tally/core';
import type { PlanView } from '@tally/contracts';

const amount = (micro: bigint | null) => (micro === null ? null : fromMicro(micro));

/** Catalog read model → the JSON the catalog routes answer (credits as numbers, money in minor units). */
export function planView(plan: PlanDef): PlanView {
  return {
    id: plan.id,
    slug: plan.slug,
    name: plan.name,
    description: plan.description,
    price: Number(plan.priceMinor),
    currency: plan.currency,
    interval: plan.interval,
    planGroup: plan.planGroup ?? null,
    trialDays: plan.trialDays,
    provider: plan.provider,
    autoEnable: plan.autoEnable,
    isAddon: plan.isAddon,
    features: [...plan.entitlements.values()].map((e) => ({
      slug: e.slug,
      type: e.kind,
      enabled: e.enabled,
      limit: amount(e.limitMicro),
      trialLimit: amount(e.trialLimitMicro),
      reset: e.reset,
      overage: e.overage,
      creditCost: amount(e.creditCostMicro),
      ...(e.rollover ? { rollover: { max: fromMicro(e.rollover.maxMicro), periods: e.rollover.periods } } : {}),
    })),
  };
}

export const creditSystemView = (s: CreditSystemDef) => ({
  id: s.id,
  slug: s.slug,
  name: s.name,
  description: s.description,
  features: [...s.members].map(([feature, cost]) => ({ feature, creditCost: fromMicro(cost) })),
});

export const creditPackView = (p: CreditPackDef, snapshot: CatalogSnapshot) => ({
  id: p.id,
  slug: p.slug,
  name: p.name,
  description: p.description,
  credits: fromMicro(p.creditsMicro),
  price: Number(p.priceMinor),
  currency: p.currency,
  creditSystem: p.creditSystem,
  provider: p.provider ?? snapshot.defaultProvider,
  refundPolicy: p.refundPolicy,
  expiresAfterDays: p.expiresAfterDays ?? null,
});
