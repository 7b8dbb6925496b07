import type { Pool, Queryable } from '@tally/postgres';

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

/** A subscription whose paid period ended, locked for opening the next one. */
export interface DueSubscription {
  id: string;
  tenantId: string;
  customerId: string;
  planId: string;
  anchorAt: Date;
  currentPeriodEnd: Date;
  cancelAtPeriodEnd: boolean;
  scheduledPlanId: string | null;
}

export interface RenewalPlan {
  id: string;
  slug: string;
  priceMinor: bigint;
  currency: string;
  interval: string;
  provider: string | null;
}

export interface RenewalPageOptions {
  limit: number;
  after?: readonly [string, string] | undefined;
  customerId?: string | undefined;
  statuses: RenewalStatus[];
}

/**
 * subscription_renewals, and the subscription and customer rows a renewal moves
 * (status, period, plan; `context_version` bumped with every subscription change
 * so cached customer contexts are re-read). Every state change is a guarded
 * UPDATE (`WHERE status … AND attempt = …`): a second process recording the same
 * attempt changes nothing and gets null.
 */
export class RenewalRepo {
  constructor(private readonly pool: Pool) {}

  insert(r: NewRenewal, db: Queryable = this.pool): Promise<Renewal | null> {
    return insertRenewal(db, r);
  }

  claimDue(claimSeconds: number, filter: { tenantId?: string; customerId?: string; limit?: number } = {}): Promise<Renewal[]> {
    return claimDue(this.pool, claimSeconds, filter);
  }

  list(tenantId: string, customerId: string, limit?: number): Promise<Renewal[]> {
    return listRenewals(this.pool, tenantId, customerId, limit);
  }

  async get(tenantId: string, id: string): Promise<Renewal | null> {
    const { rows } = await this.pool.query<RenewalRow>('SELECT * FROM subscription_renewals WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
    return rows[0] ? toRenewal(rows[0]) : null;
  }

  /** One page of a tenant's renewals, newest first, with the same keyset as PurchaseRepo.list (plus one row). */
  async page(tenantId: string, q: RenewalPageOptions): Promise<Array<{ renewal: Renewal; createdKey: string }>> {
    const { rows } = await this.pool.query<RenewalRow & { created_key: string }>(
      `SELECT *, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key FROM subscription_renewals
        WHERE tenant_id = $1 AND ($2::text IS NULL OR customer_id = $2) AND status = ANY($3::text[])
          AND ($4::timestamptz IS NULL OR (created_at, id) < ($4::timestamptz, $5::uuid))
        ORDER BY created_at DESC, id DESC LIMIT $6`,
      [tenantId, q.customerId ?? null, q.statuses, q.after?.[0] ?? null, q.after?.[1] ?? null, q.limit + 1],
    );
    return rows.map((r) => ({ renewal: toRenewal(r), createdKey: r.created_key }));
  }

  /** A new card: renewals waiting for a retry (or failed for good) become due now. */
  async retryNow(tenantId: string, customerId: string): Promise<void> {
    await this.pool.query(
      `UPDATE subscription_renewals SET status = 'retrying', next_attempt_at = now(), updated_at = now()
        WHERE tenant_id = $1 AND customer_id = $2 AND kind = 'renewal' AND status IN ('retrying', 'failed')`,
      [tenantId, customerId],
    );
  }

  /** Up to 20 subscriptions whose paid period ended, row-locked (SKIP LOCKED: other sweepers take others). */
  async lockDueSubscriptions(db: Queryable): Promise<DueSubscription[]> {
    const { rows } = await db.query<{
      id: string;
      tenant_id: string;
      customer_id: string;
      plan_id: string;
      anchor_at: Date;
      current_period_end: Date;
      cancel_at_period_end: boolean;
      scheduled_plan_id: string | null;
    }>(
      `SELECT s.id, s.tenant_id, s.customer_id, s.plan_id, s.anchor_at, s.current_period_end, s.cancel_at_period_end, s.scheduled_plan_id
         FROM subscriptions s
        WHERE s.status IN ('active', 'trialing') AND s.current_period_end <= now()
        ORDER BY s.current_period_end LIMIT 20 FOR UPDATE SKIP LOCKED`,
    );
    return rows.map((r) => ({
      id: r.id,
      tenantId: r.tenant_id,
      customerId: r.customer_id,
      planId: r.plan_id,
      anchorAt: r.anchor_at,
      currentPeriodEnd: r.current_period_end,
      cancelAtPeriodEnd: r.cancel_at_period_end,
      scheduledPlanId: r.scheduled_plan_id,
    }));
  }

  async plan(db: Queryable, planId: string): Promise<RenewalPlan> {
    const { rows } = await db.query<{ id: string; slug: string; price_minor: bigint; currency: string; interval: string; provider: string | null }>(
      'SELECT id, slug, price_minor, currency, interval, provider FROM plans WHERE id = $1',
      [planId],
    );
    const r = rows[0]!;
    return { id: r.id, slug: r.slug, priceMinor: r.price_minor, currency: r.currency, interval: r.interval, provider: r.provider };
  }

  /** cancel_at_period_end reached: the subscription ends at its period end. */
  async cancelAtPeriodEnd(db: Queryable, s: Pick<DueSubscription, 'id' | 'tenantId' | 'customerId'>): Promise<void> {
    await db.query(`UPDATE subscriptions SET status = 'canceled', canceled_at = current_period_end, current_period_end = NULL WHERE id = $1`, [s.id]);
    await this.bumpContext(db, s.tenantId, s.customerId);
  }

  /** The downgrade (or switch) scheduled for this boundary becomes the plan. */
  async applyScheduledPlan(db: Queryable, s: Pick<DueSubscription, 'id' | 'tenantId' | 'customerId'>, planId: string): Promise<void> {
    await db.query('UPDATE subscriptions SET plan_id = $2, scheduled_plan_id = NULL WHERE id = $1', [s.id, planId]);
    await this.bumpContext(db, s.tenantId, s.customerId);
  }

  /** `null`: a free plan, no paid period to track. */
  async setPeriodEnd(db: Queryable, subscriptionId: string, periodEnd: Date | null): Promise<void> {
    await db.query('UPDATE subscriptions SET current_period_end = $2 WHERE id = $1', [subscriptionId, periodEnd]);
  }

  /** The card an attempt is charged with, fixed once (a resumed attempt charges the same card). */
  async pinPaymentMethod(id: string, attempt: number, paymentMethodId: string): Promise<void> {
    await this.pool.query('UPDATE subscription_renewals SET payment_method_id = $3 WHERE id = $1 AND attempt = $2 AND payment_method_id IS NULL', [
      id,
      attempt,
      paymentMethodId,
    ]);
  }

  /** Null when another process recorded this attempt already. */
  async markSucceeded(db: Queryable, r: Pick<Renewal, 'id' | 'attempt'>, chargeId: string): Promise<Renewal | null> {
    const { rows } = await db.query<RenewalRow>(
      `UPDATE subscription_renewals SET status = 'succeeded', charge_id = $3, completed_at = now(), updated_at = now(),
              next_attempt_at = NULL, claimed_until = NULL, failure_code = NULL, failure_message = NULL
        WHERE id = $1 AND status = 'charging' AND attempt = $2 RETURNING *`,
      [r.id, r.attempt, chargeId],
    );
    return rows[0] ? toRenewal(rows[0]) : null;
  }

  /**
   * A declined attempt: retried `retryOffsetMs` after the first failure, or failed for
   * good without one. Null when another process recorded this attempt already.
   */
  async markDeclined(db: Queryable, r: Pick<Renewal, 'id' | 'attempt'>, retryOffsetMs: number | null, code: string, message: string): Promise<Renewal | null> {
    const { rows } = await db.query<RenewalRow>(
      `UPDATE subscription_renewals
          SET first_failed_at = COALESCE(first_failed_at, now()),
              status = CASE WHEN $3::bigint IS NULL THEN 'failed' ELSE 'retrying' END,
              next_attempt_at = CASE WHEN $3::bigint IS NULL THEN NULL
                                     ELSE COALESCE(first_failed_at, now()) + make_interval(secs => $3::bigint / 1000.0) END,
              failure_code = $4, failure_message = $5, claimed_until = NULL, updated_at = now()
        WHERE id = $1 AND status = 'charging' AND attempt = $2 RETURNING *`,
      [r.id, r.attempt, retryOffsetMs, code, message],
    );
    return rows[0] ? toRenewal(rows[0]) : null;
  }

  /** past_due → active after a successful charge; whether it moved. */
  async reactivate(db: Queryable, r: Pick<Renewal, 'subscriptionId' | 'tenantId' | 'customerId'>): Promise<boolean> {
    const back = await db.query(`UPDATE subscriptions SET status = 'active' WHERE id = $1 AND status = 'past_due' RETURNING 1`, [r.subscriptionId]);
    if (back.rowCount) await this.bumpContext(db, r.tenantId, r.customerId);
    return (back.rowCount ?? 0) > 0;
  }

  /** active/trialing → past_due after the last retry; whether it moved. */
  async markPastDue(db: Queryable, r: Pick<Renewal, 'subscriptionId' | 'tenantId' | 'customerId'>): Promise<boolean> {
    const moved = await db.query(`UPDATE subscriptions SET status = 'past_due' WHERE id = $1 AND status IN ('active', 'trialing') RETURNING 1`, [r.subscriptionId]);
    const pastDue = (moved.rowCount ?? 0) > 0;
    if (pastDue) await this.bumpContext(db, r.tenantId, r.customerId);
    return pastDue;
  }

  /** The live upgrade charge from this subscription to this plan (pending, charging or succeeded), newest first. */
  async liveUpgrade(fromSubscriptionId: string, planId: string): Promise<Renewal | null> {
    const { rows } = await this.pool.query<RenewalRow>(
      `SELECT * FROM subscription_renewals WHERE subscription_id = $1 AND kind = 'upgrade' AND plan_id = $2
          AND status IN ('pending', 'charging', 'succeeded') ORDER BY created_at DESC LIMIT 1`,
      [fromSubscriptionId, planId],
    );
    return rows[0] ? toRenewal(rows[0]) : null;
  }

  /** Claims an upgrade charge (a new attempt unless one is charging); null when it is no longer pending or charging. */
  async claimUpgrade(id: string): Promise<Renewal | null> {
    const { rows } = await this.pool.query<RenewalRow>(
      `UPDATE subscription_renewals SET status = 'charging', attempt = CASE WHEN status = 'charging' THEN attempt ELSE attempt + 1 END, updated_at = now()
        WHERE id = $1 AND status IN ('pending', 'charging') RETURNING *`,
      [id],
    );
    return rows[0] ? toRenewal(rows[0]) : null;
  }

  private async bumpContext(db: Queryable, tenantId: string, customerId: string): Promise<void> {
    await db.query('UPDATE customers SET context_version = context_version + 1 WHERE tenant_id = $1 AND id = $2', [tenantId, customerId]);
  }
}
