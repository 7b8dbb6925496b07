import { randomUUID } from 'node:crypto';
import { currentPeriod, type ResetInterval } from '@tally/core';
import type { WebhookEventType } from '@tally/contracts';
import { withTransaction, type Pool, type Queryable } from '@tally/postgres';
import type { Logger } from '@tally/runtime';
import type { CatalogPort, CustomerPort } from '../ports.ts';
import type { TenantProviders } from '../tenant-providers.ts';
import type { PaymentMethods } from '../wallet/payment-methods.ts';
import type { WebhookEmitter } from '../webhooks/webhook-emitter.ts';
import { parseRetrySchedule, type RenewalsConfig } from './config.ts';
import { claimDue, insertRenewal, toRenewal, type Renewal, type RenewalRow } from './renewal-repo.ts';
import { renewalEventData } from './renewal-view.ts';

interface DueRow {
  id: string;
  tenant_id: string;
  customer_id: string;
  plan_id: string;
  anchor_at: Date;
  current_period_end: Date;
  cancel_at_period_end: boolean;
  scheduled_plan_id: string | null;
}

interface PlanRow {
  id: string;
  slug: string;
  price_minor: bigint;
  currency: string;
  interval: string;
  provider: string | null;
}

interface Pending {
  tenantId: string;
  type: WebhookEventType;
  id: string;
  data: Record<string, unknown>;
}

export type ChargeOutcome = { status: 'succeeded'; renewal: Renewal } | { status: 'declined'; renewal: Renewal; code: string; message: string };

/** The next period end after `start`, counted from the anchor in the plan's interval. */
export function periodEndAfter(anchorAt: Date, interval: string, start: Date): Date {
  const p = currentPeriod(anchorAt, interval as ResetInterval, start);
  if (!p) throw new Error(`plan interval "${interval}" has no period`);
  return p.end;
}

/**
 * Renewals of paid plans (docs/billing.md "Subscriptions and renewals").
 *
 * `sweep()` does two things, each safe from any number of processes at once:
 * 1. opens the period of every subscription whose paid period ended (row lock
 *    SKIP LOCKED; one renewal row per subscription and period start, unique),
 *    applying a cancel or a downgrade scheduled for that boundary first;
 * 2. charges claimed renewals off-session with the card on file, with the
 *    provider idempotency key `tally_renewal_<id>_<attempt>`.
 * A decline is retried on RENEWAL_RETRY_SCHEDULE; after the last one the
 * subscription is past_due. A new card retries at once.
 */
export class RenewalService {
  private readonly schedule: number[];

  constructor(
    private readonly pool: Pool,
    private readonly providers: TenantProviders,
    private readonly methods: PaymentMethods,
    private readonly catalog: CatalogPort,
    private readonly customers: CustomerPort,
    private readonly emitter: WebhookEmitter,
    private readonly logger: Logger,
    private readonly config: Pick<RenewalsConfig, 'RENEWAL_RETRY_SCHEDULE' | 'RENEWAL_CLAIM_SECONDS'>,
  ) {
    this.schedule = parseRetrySchedule(config.RENEWAL_RETRY_SCHEDULE);
  }

  /** One tick: open what is due, then charge what is claimable. Returns how many renewals were charged. */
  async sweep(): Promise<number> {
    while ((await this.openDue()) > 0) {
      // catch up subscriptions several periods behind, one period per round
    }
    let charged = 0;
    for (;;) {
      const claimed = await claimDue(this.pool, this.config.RENEWAL_CLAIM_SECONDS);
      for (const r of claimed) {
        await this.charge(r).catch((err) => this.logger.warn({ err, renewalId: r.id }, 'renewal charge failed; resumed by a later sweep'));
      }
      charged += claimed.length;
      if (claimed.length === 0) return charged;
    }
  }

  /** A card was saved: renewals waiting for a retry (or failed for good) are tried at once. */
  async onCardSaved(tenantId: string, customerId: string): Promise<void> {
    await this.pool.query(
      `UPDATE subscription_renewals SET status = 'retrying', next_attempt_at = now(), updated_at = now()
        WHERE tenant_id = $1 AND customer_id = $2 AND kind = 'renewal' AND status IN ('retrying', 'failed')`,
      [tenantId, customerId],
    );
    for (const r of await claimDue(this.pool, this.config.RENEWAL_CLAIM_SECONDS, { tenantId, customerId })) await this.charge(r);
  }

  private async openDue(): Promise<number> {
    const events: Pending[] = [];
    const touched: Array<[string, string]> = [];
    const n = await withTransaction(this.pool, async (db) => {
      const { rows } = await db.query<DueRow>(
        `SELECT s.id, s.tenant_id, s.customer_id, s.plan_id, s.anchor_at, s.current_period_end, s.cancel_at_period_end, s.scheduled_plan_id
           FROM subscriptions s
          WHERE s.status IN ('active', 'trialing') AND s.current_period_end <= now()
          ORDER BY s.current_period_end LIMIT 20 FOR UPDATE SKIP LOCKED`,
      );
      for (const s of rows) await this.openOne(db, s, events, touched);
      return rows.length;
    });
    for (const [t, c] of touched) await this.customers.invalidate?.(t, c);
    for (const e of events) await this.emitter.emitSafely(e.tenantId, e.type, e.id, e.data);
    return n;
  }

  private async openOne(db: Queryable, s: DueRow, events: Pending[], touched: Array<[string, string]>): Promise<void> {
    const boundary = s.current_period_end;
    const base = { subscription: s.id, customer: s.customer_id, at: boundary.toISOString() };
    if (s.cancel_at_period_end) {
      await db.query(`UPDATE subscriptions SET status = 'canceled', canceled_at = current_period_end, current_period_end = NULL WHERE id = $1`, [s.id]);
      await db.query('UPDATE customers SET context_version = context_version + 1 WHERE tenant_id = $1 AND id = $2', [s.tenant_id, s.customer_id]);
      events.push({ tenantId: s.tenant_id, type: 'subscription.canceled', id: `subscription.canceled:${s.id}`, data: { ...base, status: 'canceled', reason: 'cancel_at_period_end' } });
      touched.push([s.tenant_id, s.customer_id]);
      return;
    }
    const planId = s.scheduled_plan_id ?? s.plan_id;
    const { rows } = await db.query<PlanRow>('SELECT id, slug, price_minor, currency, interval, provider FROM plans WHERE id = $1', [planId]);
    const plan = rows[0]!;
    if (s.scheduled_plan_id) {
      await db.query('UPDATE subscriptions SET plan_id = $2, scheduled_plan_id = NULL WHERE id = $1', [s.id, planId]);
      await db.query('UPDATE customers SET context_version = context_version + 1 WHERE tenant_id = $1 AND id = $2', [s.tenant_id, s.customer_id]);
      events.push({
        tenantId: s.tenant_id,
        type: 'subscription.updated',
        id: `subscription.updated:${s.id}:${boundary.toISOString()}`,
        data: { ...base, status: 'active', plan: plan.slug, change: 'scheduled_plan_applied' },
      });
      touched.push([s.tenant_id, s.customer_id]);
    }
    if (plan.price_minor === 0n) {
      // a free plan is not renewed: nothing to charge, no paid period to track
      await db.query('UPDATE subscriptions SET current_period_end = NULL WHERE id = $1', [s.id]);
      return;
    }
    const periodEnd = periodEndAfter(s.anchor_at, plan.interval, boundary);
    const provider = plan.provider ?? (await this.catalog.snapshot(s.tenant_id)).defaultProvider ?? 'sandbox';
    await insertRenewal(db, {
      id: randomUUID(),
      tenantId: s.tenant_id,
      subscriptionId: s.id,
      customerId: s.customer_id,
      kind: 'renewal',
      planId: plan.id,
      planSlug: plan.slug,
      periodStart: boundary,
      periodEnd,
      amountMinor: plan.price_minor,
      currency: plan.currency,
      provider,
    });
    await db.query('UPDATE subscriptions SET current_period_end = $2 WHERE id = $1', [s.id, periodEnd]);
  }

  /**
   * Charges one claimed renewal (status charging, this attempt). The card is the one the
   * attempt started with, so a resumed charge repeats exactly the same provider call.
   */
  async charge(r: Renewal): Promise<ChargeOutcome> {
    const provider = await this.providers.forTenant(r.tenantId, r.provider);
    const method = r.paymentMethodId ? await this.methods.get(r.tenantId, r.paymentMethodId) : await this.methods.default(r.tenantId, r.customerId, r.provider);
    if (method && !r.paymentMethodId) {
      await this.pool.query('UPDATE subscription_renewals SET payment_method_id = $3 WHERE id = $1 AND attempt = $2 AND payment_method_id IS NULL', [r.id, r.attempt, method.id]);
    }
    const result = method
      ? await provider.chargeSavedMethod({
          tenantId: r.tenantId,
          reference: r.id,
          providerCustomerId: method.providerCustomerId,
          providerMethodId: method.providerMethodId,
          amountMinor: r.amountMinor,
          currency: r.currency,
          description: `${r.planSlug} ${r.kind === 'upgrade' ? 'upgrade (prorated)' : 'renewal'}`,
          idempotencyKey: `tally_renewal_${r.id}_${r.attempt}`,
          metadata: { tally_customer: r.customerId, tally_plan: r.planSlug, tally_renewal: r.id },
        })
      : ({ status: 'declined', code: 'payment_method_missing', message: 'The customer has no card on file.' } as const);
    if (result.status === 'succeeded') return { status: 'succeeded', renewal: await this.succeeded(r, result.chargeId) };
    return { status: 'declined', renewal: await this.declined(r, result.code, result.message), code: result.code, message: result.message };
  }

  private async succeeded(r: Renewal, chargeId: string): Promise<Renewal> {
    const out = await withTransaction(this.pool, async (db) => {
      const { rows } = await db.query<RenewalRow>(
        `UPDATE subscription_renewals SET status = 'succeeded', charge_id = $3, completed_at = now(), updated_at = now(),
                next_attempt_at = NULL, claimed_until = NULL, failure_code = NULL, failure_message = NULL
          WHERE id = $1 AND status = 'charging' AND attempt = $2 RETURNING *`,
        [r.id, r.attempt, chargeId],
      );
      if (!rows[0]) return null; // another process recorded this attempt already
      const back = await db.query(`UPDATE subscriptions SET status = 'active' WHERE id = $1 AND status = 'past_due' RETURNING 1`, [r.subscriptionId]);
      if (back.rowCount) await db.query('UPDATE customers SET context_version = context_version + 1 WHERE tenant_id = $1 AND id = $2', [r.tenantId, r.customerId]);
      return { renewal: toRenewal(rows[0]), reactivated: (back.rowCount ?? 0) > 0 };
    });
    if (!out) return (await this.get(r.tenantId, r.id)) ?? r;
    if (out.reactivated) await this.customers.invalidate?.(r.tenantId, r.customerId);
    if (r.kind === 'renewal') {
      await this.emitter.emitSafely(r.tenantId, 'subscription.renewed', `subscription.renewed:${r.id}`, renewalEventData(out.renewal));
    }
    if (out.reactivated) {
      await this.emitter.emitSafely(r.tenantId, 'subscription.updated', `subscription.updated:${r.id}:reactivated`, {
        ...renewalEventData(out.renewal),
        status: 'active',
        change: 'payment_recovered',
      });
    }
    return out.renewal;
  }

  private async declined(r: Renewal, code: string, message: string): Promise<Renewal> {
    const retryOffset = r.kind === 'renewal' ? this.schedule[r.attempt - 1] : undefined;
    const out = await withTransaction(this.pool, async (db) => {
      const { rows } = await db.query<RenewalRow>(
        `UPDATE subscription_renewals
            SET first_failed_at = COALESCE(first_failed_at, now()),
                status = CASE WHEN $3::bigint IS NULL THEN 'failed' ELSE 'retrying' END,
                next_attempt_at = CASE WHEN $3::bigint IS NULL THEN NULL
                                       ELSE COALESCE(first_failed_at, now()) + make_interval(secs => $3::bigint / 1000.0) END,
                failure_code = $4, failure_message = $5, claimed_until = NULL, updated_at = now()
          WHERE id = $1 AND status = 'charging' AND attempt = $2 RETURNING *`,
        [r.id, r.attempt, retryOffset ?? null, code, message],
      );
      if (!rows[0]) return null;
      let pastDue = false;
      if (r.kind === 'renewal' && retryOffset === undefined) {
        const moved = await db.query(`UPDATE subscriptions SET status = 'past_due' WHERE id = $1 AND status IN ('active', 'trialing') RETURNING 1`, [r.subscriptionId]);
        pastDue = (moved.rowCount ?? 0) > 0;
        if (pastDue) await db.query('UPDATE customers SET context_version = context_version + 1 WHERE tenant_id = $1 AND id = $2', [r.tenantId, r.customerId]);
      }
      return { renewal: toRenewal(rows[0]), pastDue };
    });
    if (!out) return (await this.get(r.tenantId, r.id)) ?? r;
    if (r.kind !== 'renewal') return out.renewal;
    await this.emitter.emitSafely(r.tenantId, 'subscription.renewal_failed', `subscription.renewal_failed:${r.id}:${r.attempt}`, renewalEventData(out.renewal));
    if (out.pastDue) {
      await this.customers.invalidate?.(r.tenantId, r.customerId);
      await this.emitter.emitSafely(r.tenantId, 'subscription.past_due', `subscription.past_due:${r.id}:${r.attempt}`, {
        ...renewalEventData(out.renewal),
        status: 'past_due',
      });
    }
    return out.renewal;
  }

  async get(tenantId: string, id: string): Promise<Renewal | null> {
    const { rows } = await this.pool.query<RenewalRow>('SELECT * FROM subscription_renewals WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
    return rows[0] ? toRenewal(rows[0]) : null;
  }

  /**
   * The prorated charge of an upgrade, made now (the API waits for it). One row per
   * (subscription being left, upgrade, target plan) while that subscription is live:
   * an attach repeated after a crash finds it and repeats the same charge (same key),
   * or, when it already succeeded, charges nothing again.
   */
  async chargeUpgrade(input: {
    tenantId: string;
    customerId: string;
    fromSubscriptionId: string;
    planId: string;
    planSlug: string;
    amountMinor: bigint;
    currency: string;
    provider: string;
    periodStart: Date;
    periodEnd: Date;
  }): Promise<ChargeOutcome> {
    const { rows } = await this.pool.query<RenewalRow>(
      `SELECT * FROM subscription_renewals WHERE subscription_id = $1 AND kind = 'upgrade' AND plan_id = $2
          AND status IN ('pending', 'charging', 'succeeded') ORDER BY created_at DESC LIMIT 1`,
      [input.fromSubscriptionId, input.planId],
    );
    let r = rows[0] ? toRenewal(rows[0]) : null;
    if (r?.status === 'succeeded') return { status: 'succeeded', renewal: r };
    if (!r) {
      r = await insertRenewal(this.pool, {
        id: randomUUID(),
        tenantId: input.tenantId,
        subscriptionId: input.fromSubscriptionId,
        customerId: input.customerId,
        kind: 'upgrade',
        planId: input.planId,
        planSlug: input.planSlug,
        periodStart: input.periodStart,
        periodEnd: input.periodEnd,
        amountMinor: input.amountMinor,
        currency: input.currency,
        provider: input.provider,
      });
      if (!r) throw new Error('upgrade charge raced with another at the same instant');
    }
    const claimed = await this.pool.query<RenewalRow>(
      `UPDATE subscription_renewals SET status = 'charging', attempt = CASE WHEN status = 'charging' THEN attempt ELSE attempt + 1 END, updated_at = now()
        WHERE id = $1 AND status IN ('pending', 'charging') RETURNING *`,
      [r.id],
    );
    if (!claimed.rows[0]) return this.chargeUpgrade(input);
    if (input.amountMinor === 0n && r.amountMinor === 0n) return { status: 'succeeded', renewal: await this.succeeded(toRenewal(claimed.rows[0]), 'none') };
    return this.charge(toRenewal(claimed.rows[0]));
  }
}
