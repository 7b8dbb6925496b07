import type { Queryable } from '@tally/postgres';

export type RenewalStatus = 'pending' | 'charging' | 'retrying' | 'succeeded' | 'failed';
export type RenewalKind = 'renewal' | 'upgrade';

export interface Renewal {
  id: string;
  tenantId: string;
  subscriptionId: string;
  customerId: string;
  kind: RenewalKind;
  planId: string;
  planSlug: string;
  periodStart: Date;
  periodEnd: Date;
  amountMinor: bigint;
  currency: string;
  provider: string;
  status: RenewalStatus;
  attempt: number;
  nextAttemptAt: Date | null;
  firstFailedAt: Date | null;
  paymentMethodId: string | null;
  chargeId: string | null;
  failureCode: string | null;
  failureMessage: string | null;
  createdAt: Date;
  completedAt: Date | null;
}

export interface RenewalRow {
  id: string;
  tenant_id: string;
  subscription_id: string;
  customer_id: string;
  kind: RenewalKind;
  plan_id: string;
  plan_slug: string;
  period_start: Date;
  period_end: Date;
  amount_minor: bigint;
  currency: string;
  provider: string;
  status: RenewalStatus;
  attempt: number;
  next_attempt_at: Date | null;
  first_failed_at: Date | null;
  payment_method_id: string | null;
  charge_id: string | null;
  failure_code: string | null;
  failure_message: string | null;
  created_at: Date;
  completed_at: Date | null;
}

export const toRenewal = (r: RenewalRow): Renewal => ({
  id: r.id,
  tenantId: r.tenant_id,
  subscriptionId: r.subscription_id,
  customerId: r.customer_id,
  kind: r.kind,
  planId: r.plan_id,
  planSlug: r.plan_slug,
  periodStart: r.period_start,
  periodEnd: r.period_end,
  amountMinor: r.amount_minor,
  currency: r.currency,
  provider: r.provider,
  status: r.status,
  attempt: r.attempt,
  nextAttemptAt: r.next_attempt_at,
  firstFailedAt: r.first_failed_at,
  paymentMethodId: r.payment_method_id,
  chargeId: r.charge_id,
  failureCode: r.failure_code,
  failureMessage: r.failure_message,
  createdAt: r.created_at,
  completedAt: r.completed_at,
});

/** What a new renewal row is made of; the rest starts at its defaults (pending, attempt 0, no charge yet). */
export type NewRenewal = Pick<
  Renewal,
  'id' | 'tenantId' | 'subscriptionId' | 'customerId' | 'kind' | 'planId' | 'planSlug' | 'periodStart' | 'periodEnd' | 'amountMinor' | 'currency' | 'provider'
>;

/** Inserts one renewal; the unique (subscription, kind, period start) makes a second insert a no-op (null). */
export async function insertRenewal(db: Queryable, r: NewRenewal): Promise<Renewal | null> {
  const { rows } = await db.query<RenewalRow>(
    `INSERT INTO subscription_renewals (id, tenant_id, subscription_id, customer_id, kind, plan_id, plan_slug, period_start, period_end,
                                        amount_minor, currency, provider, status)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending')
     ON CONFLICT (subscription_id, kind, period_start) DO NOTHING RETURNING *`,
    [r.id, r.tenantId, r.subscriptionId, r.customerId, r.kind, r.planId, r.planSlug, r.periodStart, r.periodEnd, r.amountMinor, r.currency, r.provider],
  );
  return rows[0] ? toRenewal(rows[0]) : null;
}

/**
 * Claims renewals to charge now: new ones, retries whose time came, and charges
 * whose claimer died (claim expired). A claim that starts a new attempt bumps
 * `attempt`; taking over a dead claim keeps it, so the same provider key is sent.
 * SKIP LOCKED: two sweeping processes never claim the same row.
 */
export async function claimDue(db: Queryable, claimSeconds: number, filter: { tenantId?: string; customerId?: string; limit?: number } = {}): Promise<Renewal[]> {
  const { rows } = await db.query<RenewalRow>(
    `UPDATE subscription_renewals r
        SET attempt = CASE WHEN r.status = 'charging' THEN r.attempt ELSE r.attempt + 1 END,
            payment_method_id = CASE WHEN r.status = 'charging' THEN r.payment_method_id END,
            status = 'charging', claimed_until = now() + make_interval(secs => $1::int), updated_at = now()
      WHERE r.id IN (
        SELECT id FROM subscription_renewals
         WHERE kind = 'renewal'
           AND (status = 'pending' OR (status = 'retrying' AND next_attempt_at <= now()) OR (status = 'charging' AND claimed_until < now()))
           AND ($2::uuid IS NULL OR tenant_id = $2::uuid) AND ($3::text IS NULL OR customer_id = $3::text)
         ORDER BY created_at LIMIT $4 FOR UPDATE SKIP LOCKED)
      RETURNING r.*`,
    [claimSeconds, filter.tenantId ?? null, filter.customerId ?? null, filter.limit ?? 20],
  );
  return rows.map(toRenewal);
}

export async function listRenewals(db: Queryable, tenantId: string, customerId: string, limit = 100): Promise<Renewal[]> {
  const { rows } = await db.query<RenewalRow>(
    `SELECT * FROM subscription_renewals WHERE tenant_id = $1 AND customer_id = $2 ORDER BY created_at DESC, id LIMIT $3`,
    [tenantId, customerId, limit],
  );
  return rows.map(toRenewal);
}
