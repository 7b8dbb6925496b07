import { toPage, type Page, type PurchaseView } from '@tally/contracts';
import type { PurchaseRepo, PurchaseStatus } from '../purchases/purchase-repo.ts';
import { purchaseViews } from '../purchases/purchase-view.ts';
import type { RefundReads } from '../refunds/refund-repo.ts';
import type { Renewal, RenewalRepo, RenewalStatus } from './renewal-repo.ts';

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
export async function renewalPurchase(renewals: Pick<RenewalRepo, 'get'>, tenantId: string, reference: string): Promise<Item | null> {
  if (!UUID.test(reference)) return null;
  const r = await renewals.get(tenantId, reference);
  return r ? renewalAsPurchase(r) : null;
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
export interface PurchaseListSources {
  purchases: Pick<PurchaseRepo, 'list'>;
  renewals: Pick<RenewalRepo, 'page'>;
  refunds: RefundReads;
}

export async function purchasesPage({ purchases, renewals, refunds }: PurchaseListSources, tenantId: string, q: ListOptions): Promise<Page<Item>> {
  const packs = await purchases.list(tenantId, { limit: q.limit, after: q.cursor, customerId: q.customer, status: q.status });
  const renewalStatuses = (Object.keys(AS_PURCHASE) as RenewalStatus[]).filter((s) => !q.status || AS_PURCHASE[s] === q.status);
  const plans = await renewals.page(tenantId, { limit: q.limit, after: q.cursor, customerId: q.customer, statuses: renewalStatuses });
  type Merged = { key: string; id: string; purchase?: (typeof packs)[number]['purchase']; renewal?: Renewal };
  const merged: Merged[] = [
    ...packs.map((p) => ({ key: p.createdKey, id: p.purchase.id, purchase: p.purchase })),
    ...plans.map((r) => ({ key: r.createdKey, id: r.renewal.id, renewal: r.renewal })),
  ].sort((a, b) => (a.key === b.key ? (a.id < b.id ? 1 : a.id > b.id ? -1 : 0) : a.key < b.key ? 1 : -1));
  const page = toPage(merged.slice(0, q.limit + 1), q.limit, (m) => [m.key, m.id]);
  const views = await purchaseViews(refunds, tenantId, page.data.flatMap((m) => (m.purchase ? [m.purchase] : [])));
  const byId = new Map(views.map(({ success: _, ...v }) => [v.reference, v])); // a pack purchase: as GET /v1/purchases/:reference, no kind
  return { ...page, data: page.data.map((m) => (m.renewal ? renewalAsPurchase(m.renewal) : byId.get(m.id)!)) };
}
