import { randomUUID } from 'node:crypto';
import { currentPeriod, type ResetInterval } from '@tally/core';
import type { WebhookEventType } from '@tally/contracts';
import type { Logger } from '@tally/runtime';
import type { CatalogPort, CustomerPort } from '../ports.ts';
import type { TenantProviders } from '../tenant-providers.ts';
import type { Transactor, Tx } from '../store.ts';
import type { PaymentMethods } from '../wallet/payment-methods.ts';
import type { WebhookEmitter } from '../webhooks/webhook-emitter.ts';
import { parseRetrySchedule, type RenewalsConfig } from './config.ts';
import type { DueSubscription, Renewal, RenewalRepo } from './renewal-repo.ts';
import { renewalEventData } from './renewal-view.ts';

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
    private readonly tx: Transactor,
    private readonly renewals: RenewalRepo,
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
      const claimed = await this.renewals.claimDue(this.config.RENEWAL_CLAIM_SECONDS);
      for (const r of claimed) {
        await this.charge(r).catch((err) => this.logger.warn({ err, renewalId: r.id }, 'renewal charge failed; resumed by a later sweep'));
      }
      charged += claimed.length;
      if (claimed.length === 0) return charged;
    }
  }

  /** A card was saved: renewals waiting for a retry (or failed for good) are tried at once. */
  async onCardSaved(tenantId: string, customerId: string): Promise<void> {
    await this.renewals.retryNow(tenantId, customerId);
    for (const r of await this.renewals.claimDue(this.config.RENEWAL_CLAIM_SECONDS, { tenantId, customerId })) await this.charge(r);
  }

  private async openDue(): Promise<number> {
    const events: Pending[] = [];
    const touched: Array<[string, string]> = [];
    const n = await this.tx.transaction(async (db) => {
      const due = await this.renewals.lockDueSubscriptions(db);
      for (const s of due) await this.openOne(db, s, events, touched);
      return due.length;
    });
    for (const [t, c] of touched) await this.customers.invalidate?.(t, c);
    for (const e of events) await this.emitter.emitSafely(e.tenantId, e.type, e.id, e.data);
    return n;
  }

  private async openOne(db: Tx, s: DueSubscription, events: Pending[], touched: Array<[string, string]>): Promise<void> {
    const boundary = s.currentPeriodEnd;
    const base = { subscription: s.id, customer: s.customerId, at: boundary.toISOString() };
    if (s.cancelAtPeriodEnd) {
      await this.renewals.cancelAtPeriodEnd(db, s);
      events.push({ tenantId: s.tenantId, type: 'subscription.canceled', id: `subscription.canceled:${s.id}`, data: { ...base, status: 'canceled', reason: 'cancel_at_period_end' } });
      touched.push([s.tenantId, s.customerId]);
      return;
    }
    const planId = s.scheduledPlanId ?? s.planId;
    const plan = await this.renewals.plan(db, planId);
    if (s.scheduledPlanId) {
      await this.renewals.applyScheduledPlan(db, s, planId);
      events.push({
        tenantId: s.tenantId,
        type: 'subscription.updated',
        id: `subscription.updated:${s.id}:${boundary.toISOString()}`,
        data: { ...base, status: 'active', plan: plan.slug, change: 'scheduled_plan_applied' },
      });
      touched.push([s.tenantId, s.customerId]);
    }
    if (plan.priceMinor === 0n) {
      // a free plan is not renewed: nothing to charge, no paid period to track
      await this.renewals.setPeriodEnd(db, s.id, null);
      return;
    }
    const periodEnd = periodEndAfter(s.anchorAt, plan.interval, boundary);
    const provider = plan.provider ?? (await this.catalog.snapshot(s.tenantId)).defaultProvider ?? 'sandbox';
    await this.renewals.insert({
      id: randomUUID(),
      tenantId: s.tenantId,
      subscriptionId: s.id,
      customerId: s.customerId,
      kind: 'renewal',
      planId: plan.id,
      planSlug: plan.slug,
      periodStart: boundary,
      periodEnd,
      amountMinor: plan.priceMinor,
      currency: plan.currency,
      provider,
    }, db);
    await this.renewals.setPeriodEnd(db, s.id, periodEnd);
  }

  /**
   * Charges one claimed renewal (status charging, this attempt). The card is the one the
   * attempt started with, so a resumed charge repeats exactly the same provider call.
   */
  async charge(r: Renewal): Promise<ChargeOutcome> {
    const provider = await this.providers.forTenant(r.tenantId, r.provider);
    const method = r.paymentMethodId ? await this.methods.get(r.tenantId, r.paymentMethodId) : await this.methods.default(r.tenantId, r.customerId, r.provider);
    if (method && !r.paymentMethodId) {
      await this.renewals.pinPaymentMethod(r.id, r.attempt, method.id);
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
    const out = await this.tx.transaction(async (db) => {
      const renewal = await this.renewals.markSucceeded(db, r, chargeId);
      if (!renewal) return null; // another process recorded this attempt already
      return { renewal, reactivated: await this.renewals.reactivate(db, r) };
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
    const out = await this.tx.transaction(async (db) => {
      const renewal = await this.renewals.markDeclined(db, r, retryOffset ?? null, code, message);
      if (!renewal) return null;
      const pastDue = r.kind === 'renewal' && retryOffset === undefined ? await this.renewals.markPastDue(db, r) : false;
      return { renewal, pastDue };
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

  get(tenantId: string, id: string): Promise<Renewal | null> {
    return this.renewals.get(tenantId, id);
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
    let r = await this.renewals.liveUpgrade(input.fromSubscriptionId, input.planId);
    if (r?.status === 'succeeded') return { status: 'succeeded', renewal: r };
    if (!r) {
      r = await this.renewals.insert({
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
    const claimed = await this.renewals.claimUpgrade(r.id);
    if (!claimed) return this.chargeUpgrade(input);
    if (input.amountMinor === 0n && r.amountMinor === 0n) return { status: 'succeeded', renewal: await this.succeeded(claimed, 'none') };
    return this.charge(claimed);
  }
}
