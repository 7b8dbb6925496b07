import { randomUUID } from 'node:crypto';
import { eventually } from './support/stack.ts';
import { db, payOnPage, type Api } from './billing.support.ts';

/** Shared helpers of the renewal suites (test/billing-renewal*.e2e.test.ts). */

/** The customer's subscription and renewals as GET /v1/subscriptions answers them. */
export async function subscriptionsOf(api: Api, customer: string) {
  const r = await api.get(`/v1/subscriptions?customer=${customer}`);
  if (r.status !== 200) throw new Error(`subscriptions: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as {
    subscription: { id: string; plan: string; status: string; anchorAt: string; currentPeriodEnd: string | null; cancelAtPeriodEnd: boolean; scheduledPlan: string | null } | null;
    renewals: Array<{ reference: string; kind: string; plan: string; periodStart: string; periodEnd: string; amount: number; status: string; attempt: number; nextAttemptAt: string | null; failure: { code: string } | null }>;
  };
}

/** A new customer on a paid plan, paid through the sandbox checkout with `card` saved for renewals. */
export async function paidCustomer(api: Api, plan: string, card = '4242424242424242'): Promise<{ customer: string; subscriptionId: string }> {
  const customer = `cus_${randomUUID().slice(0, 8)}`;
  const created = await api.post('/v1/customers', { id: customer, email: `${customer}@example.test` });
  if (created.status >= 300) throw new Error(`customer: ${created.status} ${JSON.stringify(created.body)}`);
  const attach = await api.post('/v1/attach', { customer, product: plan });
  if (attach.status !== 200 || !attach.body.checkoutUrl) throw new Error(`attach: ${attach.status} ${JSON.stringify(attach.body)}`);
  const paid = await payOnPage(attach.body.checkoutUrl, card, true);
  if (paid.status !== 303) throw new Error(`checkout page: ${paid.status} ${paid.html}`);
  const sub = await eventually(async () => {
    const s = (await subscriptionsOf(api, customer)).subscription;
    return s?.plan === plan && s.status === 'active' ? s : null;
  });
  return { customer, subscriptionId: sub.id };
}

/**
 * Time moves on by `interval` for one subscription: its anchor, paid period end and the
 * periods of its past renewals are moved that far back (as test/simulation does for
 * period boundaries), so a boundary that was ahead is now behind and the sweep acts on it.
 */
export async function ageSubscription(subscriptionId: string, interval = '1 month'): Promise<void> {
  await db.query(
    `UPDATE subscriptions SET anchor_at = anchor_at - $2::interval, current_period_end = current_period_end - $2::interval,
            created_at = created_at - $2::interval WHERE id = $1`,
    [subscriptionId, interval],
  );
  await db.query(
    `UPDATE subscription_renewals SET period_start = period_start - $2::interval, period_end = period_end - $2::interval,
            created_at = created_at - $2::interval WHERE subscription_id = $1`,
    [subscriptionId, interval],
  );
}

/** Sandbox charges made for renewals of the tenant (every attempt has its own key), with their amounts. */
export async function renewalCharges(tenantId: string): Promise<Array<{ key: string; amount: number; status: string }>> {
  const { rows } = await db.query(
    `SELECT idempotency_key AS key, amount_minor::int AS amount, status FROM sandbox_charges
      WHERE tenant_id = $1 AND idempotency_key LIKE 'tally_renewal_%' ORDER BY created_at`,
    [tenantId],
  );
  return rows;
}

/** Calendar month arithmetic done here, independently of the code under test (UTC, day clamped). */
export function plusMonths(d: Date, months: number): Date {
  const out = new Date(d);
  const day = out.getUTCDate();
  out.setUTCDate(1);
  out.setUTCMonth(out.getUTCMonth() + months);
  const last = new Date(Date.UTC(out.getUTCFullYear(), out.getUTCMonth() + 1, 0)).getUTCDate();
  out.setUTCDate(Math.min(day, last));
  return out;
}

export type WebhookBody = { id: string; type: string; data: Record<string, unknown> };
export const bodies = (received: Array<{ body: string }>): WebhookBody[] => received.map((r) => JSON.parse(r.body));

/** `interval` into a monthly subscription's first paid period: the anchor moves back, the period end stays one month after it. */
export async function intoPeriod(subscriptionId: string, interval: string): Promise<void> {
  await db.query(
    `UPDATE subscriptions SET anchor_at = anchor_at - $2::interval, current_period_end = anchor_at - $2::interval + interval '1 month',
            created_at = created_at - $2::interval WHERE id = $1`,
    [subscriptionId, interval],
  );
}
