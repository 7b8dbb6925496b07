import { z } from 'zod';
import { fromMicro, type CatalogSnapshot } from '@tally/core';
import { errorBodySchema, syncBodySchema } from '@tally/contracts';
import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';
import { creditPackView, creditSystemView, planView } from './catalog-views.ts';
import type { CatalogExtrasOf } from './catalog-extras.ts';

const featureViewSchema = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  type: z.enum(['metered', 'boolean']),
  meterType: z.enum(['consumable', 'non_consumable']),
  /** The credit system this feature is a member of, with its credit cost per unit. */
  creditSystem: z.object({ slug: z.string(), creditCost: z.number() }).nullable(),
});
const featuresResultSchema = z.object({ success: z.literal(true), features: z.array(featureViewSchema) });
const catalogResultSchema = z.object({ success: z.literal(true), version: z.number(), catalog: syncBodySchema });

const nonEmpty = (m: Record<string, unknown> | undefined) => (m && Object.keys(m).length > 0 ? { metadata: m } : {});

/**
 * The catalog as a POST /v1/sync body: syncing it back changes nothing. Built from the views the
 * catalog routes answer, without their ids, plus what sync keeps and the snapshot does not hold.
 * Archived packs are left out (sync keeps them archived).
 */
function asSyncBody(s: CatalogSnapshot, more: CatalogExtrasOf) {
  return {
    defaultProvider: s.defaultProvider,
    features: [...s.features.values()].map((f) => ({ slug: f.slug, name: f.name, type: f.type, meterType: f.meterType })),
    creditSystems: [...s.creditSystems.values()].map((c) => {
      const { id: _, ...view } = creditSystemView(c);
      return view;
    }),
    creditPacks: [...s.creditPacks.values()].filter((p) => !p.archived).map((p) => {
      // the pack's own provider (the view answers the tenant's default in its place)
      const { id: _, provider: __, ...view } = creditPackView(p, s);
      return { ...view, provider: p.provider, ...nonEmpty(more.packs.get(p.slug)) };
    }),
    plans: [...s.plans.values()].map((p) => {
      const { id: _, features, ...view } = planView(p);
      return {
        ...view,
        billingType: more.plans.get(p.slug)?.billing_type ?? null,
        ...nonEmpty(more.plans.get(p.slug)?.metadata),
        features: features.map(({ type: __, ...f }) => f),
      };
    }),
  };
}

/**
 * Catalog reads the dashboard edits from: the feature list, and the whole catalog in the shape
 * POST /v1/sync takes, so an edit resends everything (metadata included) and changes only the edit.
 */
export function registerCatalogReadRoutes(routes: RouteTable, ctx: Pick<ApiContext, 'catalog' | 'catalogExtras'>): void {
  routes.add({
    method: 'get',
    path: '/features',
    summary: 'List features, with the credit system each one is a member of',
    tags: ['catalog'],
    responses: { 200: featuresResultSchema, 401: errorBodySchema },
    handler: async ({ tenant }) => {
      const snapshot = await ctx.catalog.snapshot(tenant.tenantId);
      const features = [...snapshot.features.values()].map((f) => ({
        id: f.id,
        slug: f.slug,
        name: f.name,
        type: f.type,
        meterType: f.meterType,
        creditSystem: f.creditSystem ? { slug: f.creditSystem.slug, creditCost: fromMicro(f.creditSystem.costMicro) } : null,
      }));
      return { body: { success: true, features } };
    },
  });

  routes.add({
    method: 'get',
    path: '/catalog',
    summary: 'The whole catalog as a POST /v1/sync body (syncing it back changes nothing), with its version',
    tags: ['catalog'],
    responses: { 200: catalogResultSchema, 401: errorBodySchema },
    handler: async ({ tenant }) => {
      const [snapshot, more] = await Promise.all([ctx.catalog.snapshot(tenant.tenantId), ctx.catalogExtras.of(tenant.tenantId)]);
      return { body: { success: true, version: Number(snapshot.version), catalog: asSyncBody(snapshot, more) } };
    },
  });
}
