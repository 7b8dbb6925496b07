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
  type SyncBodyParsed,
} from '@tally/contracts';
import { notFound } from '@tally/runtime';
import type { ApiContext } from '../context.ts';
import type { RouteTable } from '../http/route.ts';
import { creditPackView, creditSystemView, planView } from './catalog-views.ts';
import { refuseLiveSandbox } from './catalog-live-sandbox.ts';

/**
 * A pack or plan naming a provider this deployment cannot use for the tenant
 * (Stripe without keys, a provider of the other environment) syncs, but is
 * named in a warning: addon and paid attach would answer 400 until it is set up.
 */
async function providerWarnings(ctx: ApiContext, tenantId: string, input: Pick<SyncBodyParsed, 'creditPacks' | 'plans'>): Promise<string[]> {
  const warnings: string[] = [];
  const items = [
    ...(input.creditPacks ?? []).map((p) => ({ kind: 'credit pack', slug: p.slug, provider: p.provider })),
    ...(input.plans ?? []).map((p) => ({ kind: 'plan', slug: p.slug, provider: p.provider })),
  ];
  const problems = new Map<string, string | null>();
  for (const item of items) {
    if (!item.provider) continue;
    if (!problems.has(item.provider)) problems.set(item.provider, await ctx.billing.providers.unavailable(tenantId, item.provider));
    const problem = problems.get(item.provider);
    if (problem) warnings.push(`${item.kind} "${item.slug}" uses provider "${item.provider}", which cannot take payments here (${problem}); addon answers 400 provider_not_configured until it is configured`);
  }
  return warnings;
}

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
      await refuseLiveSandbox(ctx, tenant.tenantId, input); // 400 naming them, before anything is written
      const result = await ctx.catalog.sync(tenant.tenantId, input, { dryRun: query.dryRun ?? bodyDryRun ?? false });
      const warnings = [...result.warnings, ...(await providerWarnings(ctx, tenant.tenantId, input))];
      return {
        body: {
          success: true,
          dryRun: result.dryRun,
          version: Number(result.version),
          features: result.features,
          creditSystems: result.creditSystems,
          creditPacks: result.creditPacks,
          plans: result.plans,
          warnings,
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
