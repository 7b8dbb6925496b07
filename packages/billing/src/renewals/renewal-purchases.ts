import type { Pool } from '@tally/postgres';
import { toPage, type Page, type PurchaseView } from '@tally/contracts';
import type { PurchaseRepo, PurchaseStatus } from '../purchases/purchase-repo.ts';
import { purchaseViews } from '../purchases/purchase-view.ts';
import { toRenewal, type Renewal, type RenewalRow, type RenewalStatus } from './renewal-repo.ts';

type Item = Omit<PurchaseView, 'success'>;

/** A renewal's status in the purchases vocabulary (retrying: still being charged). */
const AS_PURCHASE: Record<RenewalStatus, PurchaseStatus> = { pending: 'pending', charging: 'charging', retrying: 'charging', succeeded: 'completed', failed: 'failed' };

/** A renewal or upgrade charge as a row of GET /v1/purchases (`pack` is the plan, no credits). */
export function renewalAsPurchase(r: Renewal): Item {
  return {
    reference: r.id,
    status: AS_PURCHASE[r.status],
    customer: r.customerId,
    pack: r.planSlug,
    creditSystem: '',
    quantity: 1,
    credits: 0,
    amount: Number(r.amountMinor),
    currency: r.currency,
    provider: r.provider,
    source: 'renewal',
    checkoutUrl: null,
    failure: r.failureCode ? { code: r.failureCode, message: r.failureMessage ?? '' } : null,
    refund: null,
    createdAt: r.createdAt.toISOString(),
    completedAt: r.completedAt?.toISOString() ?? null,
    kind: r.kind,
    plan: r.planSlug,
    periodStart: r.periodStart.toISOString(),
    periodEnd: r.periodEnd.toISOString(),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** GET /v1/purchases/:reference for a plan charge: the same row the list shows, or null. */
export async function renewalPurchase(pool: Pool, tenantId: string, reference: string): Promise<Item | null> {
  if (!UUID.test(reference)) return null;
  const { rows } = await pool.query<RenewalRow>('SELECT * FROM subscription_renewals WHERE tenant_id = $1 AND id = $2', [tenantId, reference]);
  return rows[0] ? renewalAsPurchase(toRenewal(rows[0])) : null;
}

interface ListOptions {
  limit: number;
  cursor?: readonly [string, string] | undefined;
  customer?: string | undefined;
  status?: PurchaseStatus | undefined;
}

/**
 * GET /v1/purchases: pack purchases and plan charges (renewals, upgrades) in one list, newest first.
 * Both sources are read with the same keyset (created_at with microseconds, id) and merged, so a page
 * and its cursor mean the same as for purchases alone.
 */
export async function purchasesPage(pool: Pool, purchases: PurchaseRepo, tenantId: string, q: ListOptions): Promise<Page<Item>> {
  const packs = await purchases.list(tenantId, { limit: q.limit, after: q.cursor, customerId: q.customer, status: q.status });
  const renewalStatuses = (Object.keys(AS_PURCHASE) as RenewalStatus[]).filter((s) => !q.status || AS_PURCHASE[s] === q.status);
  const { rows } = await pool.query<RenewalRow & { created_key: string }>(
    `SELECT *, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key FROM subscription_renewals
      WHERE tenant_id = $1 AND ($2::text IS NULL OR customer_id = $2) AND status = ANY($3::text[])
        AND ($4::timestamptz IS NULL OR (created_at, id) < ($4::timestamptz, $5::uuid))
      ORDER BY created_at DESC, id DESC LIMIT $6`,
    [tenantId, q.customer ?? null, renewalStatuses, q.cursor?.[0] ?? null, q.cursor?.[1] ?? null, q.limit + 1],
  );
  type Merged = { key: string; id: string; purchase?: (typeof packs)[number]['purchase']; renewal?: Renewal };
  const merged: Merged[] = [
    ...packs.map((p) => ({ key: p.createdKey, id: p.purchase.id, purchase: p.purchase })),
    ...rows.map((r) => ({ key: r.created_key, id: r.id, renewal: toRenewal(r) })),
  ].sort((a, b) => (a.key === b.key ? (a.id < b.id ? 1 : a.id > b.id ? -1 : 0) : a.key < b.key ? 1 : -1));
  const page = toPage(merged.slice(0, q.limit + 1), q.limit, (m) => [m.key, m.id]);
  const views = await purchaseViews(pool, tenantId, page.data.flatMap((m) => (m.purchase ? [m.purchase] : [])));
  const byId = new Map(views.map(({ success: _, ...v }) => [v.reference, v])); // a pack purchase: as GET /v1/purchases/:reference, no kind
  return { ...page, data: page.data.map((m) => (m.renewal ? renewalAsPurchase(m.renewal) : byId.get(m.id)!)) };
}
