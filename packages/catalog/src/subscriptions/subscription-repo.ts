import { randomUUID } from 'node:crypto';
import type { SubscriptionDef } from '@tally/core';
import { asDependencyError, withTransaction, type Pool } from '@tally/postgres';
import type { Transactor, Tx } from '../store.ts';
import { liveInGroup, type LiveSubscription } from './live-subscription.ts';

/** A subscription row as the attach and activation answers show it (its plan's slug is the caller's). */
export interface SubscriptionRecord {
  id: string;
  status: SubscriptionDef['status'];
  anchorAt: Date;
  trialEndsAt: Date | null;
}

/** The subscription a checkout reference names, with whose it is. */
export interface CheckoutSubscription extends SubscriptionRecord {
  tenantId: string;
  customerId: string;
  planId: string;
  planSlug: string;
}

export interface NewSubscription {
  tenantId: string;
  customerId: string;
  planId: string;
  metadata: Record<string, unknown>;
}

/**
 * subscriptions (and the customer row as the plan-change lock) as
 * SubscriptionService reads and writes them. Methods with a `tx` run in the
 * caller's transaction; the others run alone, as a single statement.
 */
export interface SubscriptionStore extends Transactor {
  /** The live base-plan subscription in a plan group (undefined: any group, the newest). */
  liveInGroup(tenantId: string, customerId: string, group: string | null | undefined): Promise<LiveSubscription | null>;
  /** Bumps the customer's context version, holding its row until the transaction ends; false when there is no such customer. */
  lockCustomer(tx: Tx, tenantId: string, customerId: string): Promise<boolean>;
  /** Undoes a scheduled plan change and a cancel at period end. */
  clearScheduled(tenantId: string, id: string): Promise<void>;
  /** The plan the subscription moves to at its period end. */
  schedulePlan(tenantId: string, id: string, planId: string): Promise<void>;
  /** Cancels at period end (the end recorded with it). */
  cancelAtPeriodEnd(tenantId: string, id: string, periodEnd: Date): Promise<void>;
  resume(tenantId: string, id: string): Promise<void>;
  /** Cancels now. */
  cancelNow(tx: Tx, tenantId: string, id: string): Promise<void>;
  /** Ends an active or trialing subscription for the upgrade that replaces it; false when it is no longer live (a concurrent attach). */
  endForUpgrade(tx: Tx, tenantId: string, id: string): Promise<boolean>;
  /** The upgraded plan's subscription: active at once, on the old anchor and paid period end. */
  insertUpgraded(tx: Tx, s: NewSubscription & { anchorAt: Date; periodEnd: Date; cancelAtPeriodEnd: boolean }): Promise<SubscriptionRecord>;
  /** The customer's active or trialing subscription to this plan. */
  liveOfPlan(tx: Tx, tenantId: string, customerId: string, planId: string): Promise<SubscriptionRecord | null>;
  /** A free plan's subscription from now (or from `anchorAt`), trialing for `trialDays` when there are any. */
  insertFree(tx: Tx, s: NewSubscription & { status: 'active' | 'trialing'; trialDays: number; anchorAt: Date | null }): Promise<SubscriptionRecord>;
  /** Cancels the live base plans of the group; answers the anchors of those it ended. */
  cancelLiveInGroup(tx: Tx, tenantId: string, customerId: string, group: string | null): Promise<Date[]>;
  /** Cancels the customer's pending checkouts of this plan. */
  cancelPending(tx: Tx, tenantId: string, customerId: string, planId: string): Promise<void>;
  insertPending(tx: Tx, s: NewSubscription & { id: string }): Promise<void>;
  /** Removes a pending subscription whose checkout could not start (best effort). */
  removePending(tenantId: string, id: string): Promise<void>;
  setCheckoutReference(tenantId: string, id: string, reference: string): Promise<SubscriptionRecord | null>;
  /** The subscription of a checkout reference (in `tenantId` when given), locked until the transaction ends. */
  lockByCheckout(tx: Tx, reference: string, tenantId?: string): Promise<CheckoutSubscription | null>;
  /** A paid checkout's subscription goes live (trialing when it has trial days) from `anchorAt`, paid until `paidUntil`. */
  activate(tx: Tx, id: string, a: { status: 'active' | 'trialing'; trialDays: number; anchorAt: Date; paidUntil: Date | null }): Promise<SubscriptionRecord>;
}

interface Row {
  id: string;
  status: SubscriptionDef['status'];
  anchor_at: Date;
  trial_ends_at: Date | null;
}

const RETURNING = `RETURNING id, status, anchor_at, trial_ends_at`;
const toRecord = (r: Row): SubscriptionRecord => ({ id: r.id, status: r.status, anchorAt: r.anchor_at, trialEndsAt: r.trial_ends_at });

/** subscriptions in Postgres. */
export class SubscriptionRepo implements SubscriptionStore {
  constructor(private readonly pool: Pool) {}

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    try {
      return await withTransaction(this.pool, fn);
    } catch (err) {
      throw asDependencyError(err);
    }
  }

  liveInGroup(tenantId: string, customerId: string, group: string | null | undefined): Promise<LiveSubscription | null> {
    return liveInGroup(this.pool, tenantId, customerId, group);
  }

  async lockCustomer(db: Tx, tenantId: string, customerId: string): Promise<boolean> {
    const { rows } = await db.query(
      'UPDATE customers SET context_version = context_version + 1 WHERE tenant_id = $1 AND id = $2 RETURNING 1',
      [tenantId, customerId],
    );
    return rows.length > 0;
  }

  async clearScheduled(tenantId: string, id: string): Promise<void> {
    await this.pool.query('UPDATE subscriptions SET scheduled_plan_id = NULL, cancel_at_period_end = false WHERE id = $1 AND tenant_id = $2', [id, tenantId]);
  }

  async schedulePlan(tenantId: string, id: string, planId: string): Promise<void> {
    await this.pool.query('UPDATE subscriptions SET scheduled_plan_id = $3 WHERE id = $1 AND tenant_id = $2', [id, tenantId, planId]);
  }

  async cancelAtPeriodEnd(tenantId: string, id: string, periodEnd: Date): Promise<void> {
    await this.pool.query('UPDATE subscriptions SET cancel_at_period_end = true, current_period_end = $3 WHERE id = $1 AND tenant_id = $2', [id, tenantId, periodEnd]);
  }

  async resume(tenantId: string, id: string): Promise<void> {
    await this.pool.query('UPDATE subscriptions SET cancel_at_period_end = false WHERE id = $1 AND tenant_id = $2', [id, tenantId]);
  }

  async cancelNow(db: Tx, tenantId: string, id: string): Promise<void> {
    await db.query(`UPDATE subscriptions SET status = 'canceled', canceled_at = now(), current_period_end = NULL WHERE id = $1 AND tenant_id = $2`, [id, tenantId]);
  }

  async endForUpgrade(db: Tx, tenantId: string, id: string): Promise<boolean> {
    const left = await db.query(
      `UPDATE subscriptions SET status = 'canceled', canceled_at = now(), current_period_end = NULL, scheduled_plan_id = NULL
        WHERE id = $1 AND tenant_id = $2 AND status IN ('active', 'trialing') RETURNING 1`,
      [id, tenantId],
    );
    return !!left.rowCount;
  }

  async insertUpgraded(db: Tx, s: NewSubscription & { anchorAt: Date; periodEnd: Date; cancelAtPeriodEnd: boolean }): Promise<SubscriptionRecord> {
    const { rows } = await db.query<Row>(
      `INSERT INTO subscriptions (id, tenant_id, customer_id, plan_id, status, anchor_at, current_period_end, cancel_at_period_end, metadata)
       VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8::jsonb) ${RETURNING}`,
      [randomUUID(), s.tenantId, s.customerId, s.planId, s.anchorAt, s.periodEnd, s.cancelAtPeriodEnd, JSON.stringify(s.metadata)],
    );
    return toRecord(rows[0]!);
  }

  async liveOfPlan(db: Tx, tenantId: string, customerId: string, planId: string): Promise<SubscriptionRecord | null> {
    const { rows } = await db.query<Row>(
      `SELECT s.id, s.status, s.anchor_at, s.trial_ends_at FROM subscriptions s
        WHERE s.tenant_id = $1 AND s.customer_id = $2 AND s.plan_id = $3 AND s.status IN ('active', 'trialing')`,
      [tenantId, customerId, planId],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async insertFree(db: Tx, s: NewSubscription & { status: 'active' | 'trialing'; trialDays: number; anchorAt: Date | null }): Promise<SubscriptionRecord> {
    const { rows } = await db.query<Row>(
      `INSERT INTO subscriptions (id, tenant_id, customer_id, plan_id, status, anchor_at, trial_ends_at, metadata)
       VALUES ($1, $2, $3, $4, $5, COALESCE($8::timestamptz, now()),
               CASE WHEN $6::int > 0 THEN now() + make_interval(days => $6::int) END, $7::jsonb)
       ${RETURNING}`,
      [randomUUID(), s.tenantId, s.customerId, s.planId, s.status, s.trialDays, JSON.stringify(s.metadata), s.anchorAt],
    );
    return toRecord(rows[0]!);
  }

  async cancelLiveInGroup(db: Tx, tenantId: string, customerId: string, group: string | null): Promise<Date[]> {
    const { rows } = await db.query<{ anchor_at: Date }>(
      `UPDATE subscriptions s SET status = 'canceled', canceled_at = now(), current_period_end = NULL
         FROM plans p
        WHERE p.id = s.plan_id AND s.tenant_id = $1 AND s.customer_id = $2 AND s.status IN ('active', 'trialing', 'past_due')
          AND NOT p.is_addon AND p.plan_group IS NOT DISTINCT FROM $3
        RETURNING s.anchor_at`,
      [tenantId, customerId, group],
    );
    return rows.map((r) => r.anchor_at);
  }

  async cancelPending(db: Tx, tenantId: string, customerId: string, planId: string): Promise<void> {
    await db.query(
      `UPDATE subscriptions SET status = 'canceled', canceled_at = now()
        WHERE tenant_id = $1 AND customer_id = $2 AND plan_id = $3 AND status = 'pending'`,
      [tenantId, customerId, planId],
    );
  }

  async insertPending(db: Tx, s: NewSubscription & { id: string }): Promise<void> {
    await db.query(
      `INSERT INTO subscriptions (id, tenant_id, customer_id, plan_id, status, anchor_at, metadata)
       VALUES ($1, $2, $3, $4, 'pending', now(), $5::jsonb)`,
      [s.id, s.tenantId, s.customerId, s.planId, JSON.stringify(s.metadata)],
    );
  }

  async removePending(tenantId: string, id: string): Promise<void> {
    await this.pool.query('DELETE FROM subscriptions WHERE id = $1 AND tenant_id = $2', [id, tenantId]).catch(() => {});
  }

  async setCheckoutReference(tenantId: string, id: string, reference: string): Promise<SubscriptionRecord | null> {
    const { rows } = await this.pool.query<Row>(`UPDATE subscriptions SET checkout_reference = $3 WHERE id = $1 AND tenant_id = $2 ${RETURNING}`, [id, tenantId, reference]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async lockByCheckout(db: Tx, reference: string, tenantId?: string): Promise<CheckoutSubscription | null> {
    const { rows } = await db.query<Row & { tenant_id: string; customer_id: string; plan_id: string; plan_slug: string }>(
      `SELECT s.id, s.tenant_id, s.customer_id, s.plan_id, p.slug AS plan_slug, s.status, s.anchor_at, s.trial_ends_at
         FROM subscriptions s JOIN plans p ON p.id = s.plan_id
        WHERE s.checkout_reference = $1 AND ($2::uuid IS NULL OR s.tenant_id = $2::uuid)
        FOR UPDATE OF s`,
      [reference, tenantId ?? null],
    );
    const r = rows[0];
    return r ? { ...toRecord(r), tenantId: r.tenant_id, customerId: r.customer_id, planId: r.plan_id, planSlug: r.plan_slug } : null;
  }

  async activate(db: Tx, id: string, a: { status: 'active' | 'trialing'; trialDays: number; anchorAt: Date; paidUntil: Date | null }): Promise<SubscriptionRecord> {
    const { rows } = await db.query<Row>(
      `UPDATE subscriptions SET status = $2, anchor_at = $4::timestamptz, current_period_end = $5::timestamptz,
              trial_ends_at = CASE WHEN $3::int > 0 THEN now() + make_interval(days => $3::int) END
        WHERE id = $1 ${RETURNING}`,
      [id, a.status, a.trialDays, a.anchorAt, a.paidUntil],
    );
    return toRecord(rows[0]!);
  }
}
