import { randomUUID } from 'node:crypto';
import { toMicro, type CatalogSnapshot, type EntitlementDef, type PlanDef, type SubscriptionDef } from '@tally/core';
import type { MeteringDirectory } from '../directory.ts';

/**
 * An in-memory catalog for integration tests of the metering services (the
 * stores under test are the real Redis, Postgres and ClickHouse; only the
 * catalog lookup, another team's cache, is given as plain data).
 */
export function seedCatalog(allowanceCredits: number | null, overage: 'block' | 'charge' = 'block') {
  const tenantId = randomUUID();
  const entitlement: EntitlementDef = {
    slug: 'ai-credits', kind: 'credit_system', enabled: true, limitMicro: allowanceCredits === null ? null : toMicro(allowanceCredits),
    trialLimitMicro: null, reset: 'monthly', overage, creditCostMicro: null,
  };
  const plan = { id: randomUUID(), slug: 'pro', name: 'Pro', entitlements: new Map([['ai-credits', entitlement]]) } as unknown as PlanDef;
  const snapshot = {
    tenantId, version: 1n, defaultProvider: 'sandbox', creditPacks: new Map(), plans: new Map([['pro', plan]]),
    creditSystems: new Map([['ai-credits', { id: randomUUID(), slug: 'ai-credits', name: 'AI', description: null, members: new Map([['gpt-4', toMicro(20)], ['dall-e', toMicro(50)]]) }]]),
    features: new Map([
      ['gpt-4', { id: randomUUID(), slug: 'gpt-4', name: 'GPT-4', type: 'metered', meterType: 'consumable', creditSystem: { slug: 'ai-credits', costMicro: toMicro(20) } }],
      ['dall-e', { id: randomUUID(), slug: 'dall-e', name: 'DALL-E', type: 'metered', meterType: 'consumable', creditSystem: { slug: 'ai-credits', costMicro: toMicro(50) } }],
    ]),
  } as unknown as CatalogSnapshot;
  const subscription: SubscriptionDef = { id: randomUUID(), planSlug: 'pro', status: 'active', anchorAt: new Date(Date.now() - 3600_000), trialEndsAt: null };
  const directory: MeteringDirectory = {
    snapshot: async () => snapshot,
    context: async () => ({ subscription }),
  };
  return { tenantId, directory, snapshot, subscription };
}
