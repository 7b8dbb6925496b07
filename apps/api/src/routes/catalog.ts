import {
  creditPacksResultSchema,
  creditSystemsResultSchema,
  errorBodySchema,
  planResultSchema,
  plansResultSchema,
  slugParamsSchema,
  syncBodySchema,
  syncQuerySchema,
  syncResultSchema,
} from '@tally/contracts';
import { notFound } from '@tally/runtime';
import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';
import { creditPackView, creditSystemView, planView } from './catalog-views.ts';

/** Catalog as code (POST /v1/sync) and the catalog reads. */
export function registerCatalogRoutes(routes: RouteTable, ctx: ApiContext): void {
  routes.add({
    method: 'post',
    path: '/sync',
    summary: 'Reconcile the whole catalog (features, credit systems, credit packs, plans) idempotently',
    tags: ['catalog'],
    body: syncBodySchema,
    query: syncQuerySchema,
    responses: { 200: syncResultSchema, 400: errorBodySchema },
    handler: async ({ body, query, tenant }) => {
      const { dryRun: bodyDryRun, ...input } = body;
      const result = await ctx.catalog.sync(tenant.tenantId, input, { dryRun: query.dryRun ?? bodyDryRun ?? false });
      return {
        body: {
          success: true,
          dryRun: result.dryRun,
          version: Number(result.version),
          features: result.features,
          creditSystems: result.creditSystems,
          creditPacks: result.creditPacks,
          plans: result.plans,
          warnings: result.warnings,
        },
      };
    },
  });

  routes.add({
    method: 'get',
    path: '/plans',
    summary: 'List plans',
    tags: ['catalog'],
    responses: { 200: plansResultSchema },
    handler: async ({ tenant }) => {
      const snapshot = await ctx.catalog.snapshot(tenant.tenantId);
      return { body: { success: true, plans: [...snapshot.plans.values()].map(planView) } };
    },
  });

  routes.add({
    method: 'get',
    path: '/plans/:slug',
    summary: 'One plan by slug',
    tags: ['catalog'],
    params: slugParamsSchema,
    responses: { 200: planResultSchema, 404: errorBodySchema },
    handler: async ({ params, tenant }) => {
      const plan = (await ctx.catalog.snapshot(tenant.tenantId)).plans.get(params.slug);
      if (!plan) throw notFound('plan_not_found', `no plan "${params.slug}"`);
      return { body: { success: true, plan: planView(plan) } };
    },
  });

  routes.add({
    method: 'get',
    path: '/credit-systems',
    summary: 'List credit systems with their member features and credit costs',
    tags: ['catalog'],
    responses: { 200: creditSystemsResultSchema },
    handler: async ({ tenant }) => {
      const snapshot = await ctx.catalog.snapshot(tenant.tenantId);
      return { body: { success: true, creditSystems: [...snapshot.creditSystems.values()].map(creditSystemView) } };
    },
  });

  routes.add({
    method: 'get',
    path: '/credit-packs',
    summary: 'List credit packs for sale (archived packs are left out)',
    tags: ['catalog'],
    responses: { 200: creditPacksResultSchema },
    handler: async ({ tenant }) => {
      const snapshot = await ctx.catalog.snapshot(tenant.tenantId);
      const packs = [...snapshot.creditPacks.values()].filter((p) => !p.archived).map((p) => creditPackView(p, snapshot));
      return { body: { success: true, creditPacks: packs } };
    },
  });
}
