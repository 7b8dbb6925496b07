import type { Pool } from '@tally/postgres';

export interface CatalogExtrasOf {
  plans: Map<string, { slug: string; billing_type: string | null; metadata: Record<string, unknown> }>;
  packs: Map<string, Record<string, unknown>>;
}

/** What sync keeps that the cached snapshot does not hold (plans' billingType and metadata, packs' metadata). */
export class CatalogExtras {
  constructor(private readonly pool: Pool) {}

  async of(tenantId: string): Promise<CatalogExtrasOf> {
    const [plans, packs] = await Promise.all([
      this.pool.query<{ slug: string; billing_type: string | null; metadata: Record<string, unknown> }>('SELECT slug, billing_type, metadata FROM plans WHERE tenant_id = $1', [tenantId]),
      this.pool.query<{ slug: string; metadata: Record<string, unknown> }>('SELECT slug, metadata FROM credit_packs WHERE tenant_id = $1', [tenantId]),
    ]);
    return { plans: new Map(plans.rows.map((r) => [r.slug, r])), packs: new Map(packs.rows.map((r) => [r.slug, r.metadata])) };
  }
}
