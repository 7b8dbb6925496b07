import { meterPeriod, meterTerms, resolveMeter, rolloverWindows, type CatalogSnapshot, type MeterDef, type PeriodWindow, type PlanDef, type RolloverTerms, type SubscriptionDef } from '@tally/core';
import type { PricedTerms } from '@tally/contracts';
import type { MeteringDirectory } from './directory.ts';

export interface CustomerPlan {
  snapshot: CatalogSnapshot;
  subscription: SubscriptionDef | null;
  plan: PlanDef | null;
  customerExists: boolean;
  /** The customer's context version (0 when unknown). */
  customerVersion: bigint;
  /** The plan of a past_due subscription (its renewal failed for good): its features answer subscription_past_due. */
  pastDuePlan?: PlanDef | null;
}

const LIVE = new Set(['active', 'trialing']);

/** The customer's catalog view: snapshot, live subscription and its plan (all from in-process caches). */
export async function customerPlan(directory: MeteringDirectory, tenantId: string, customerId: string): Promise<CustomerPlan> {
  const [snapshot, context] = await Promise.all([directory.snapshot(tenantId), directory.context(tenantId, customerId)]);
  return planFor(snapshot, context);
}

/** The customer's view of one catalog snapshot. */
export function planFor(snapshot: CatalogSnapshot, context: Awaited<ReturnType<MeteringDirectory['context']>>): CustomerPlan {
  const subscription = context?.subscription && LIVE.has(context.subscription.status) ? context.subscription : null;
  const plan = subscription ? (snapshot.plans.get(subscription.planSlug) ?? null) : null;
  const pastDuePlan = context?.subscription?.status === 'past_due' ? (snapshot.plans.get(context.subscription.planSlug) ?? null) : null;
  return { snapshot, subscription, plan, customerExists: context !== null, customerVersion: context?.version ?? 0n, pastDuePlan };
}

/** Whether `feature` is one of the past_due plan's (by itself or as a member of a credit system the plan grants). */
export function blockedByPastDue(cp: CustomerPlan, feature: string): boolean {
  const plan = cp.pastDuePlan;
  if (!plan) return false;
  if (plan.entitlements.has(feature)) return true;
  for (const slug of plan.entitlements.keys()) if (cp.snapshot.creditSystems.get(slug)?.members.has(feature)) return true;
  return false;
}

export interface MeterArgs {
  def: MeterDef;
  startMs: number;
  endMs: number;
  /** -1 = unlimited, as the Lua scripts take it */
  limit: number;
  /** The entitlement's rollover and the past periods that can carry into this one (docs/metering.md "Rollover"). */
  rollover: MeterRollover | null;
}

export interface MeterRollover extends RolloverTerms {
  windows: PeriodWindow[];
}

/**
 * The rollover of `meter` on plan `planSlug` for the period starting at
 * `startMs`: the plan's current terms (not stamped on the event), the windows
 * from the customer's anchor. Null without a rollover or a subscription.
 */
export function rolloverFor(cp: CustomerPlan, planSlug: string, meter: string, startMs: number): MeterRollover | null {
  const e = cp.snapshot.plans.get(planSlug)?.entitlements.get(meter);
  if (!e?.rollover || e.limitMicro === null || !cp.subscription) return null;
  return { ...e.rollover, windows: rolloverWindows(cp.subscription.anchorAt, e.reset, startMs, e.rollover.periods) };
}

export function meterArgs(cp: CustomerPlan, def: MeterDef, now: Date): MeterArgs {
  const { startMs, endMs } = meterPeriod(def, cp.subscription?.anchorAt ?? null, now);
  const rollover = cp.plan && def.inPlan ? rolloverFor(cp, cp.plan.slug, def.meter, startMs) : null;
  return { def, startMs, endMs, limit: def.limitMicro === null ? -1 : Number(def.limitMicro), rollover };
}

/** A meter named by its slug (credit system or standalone feature), e.g. for balance reads. */
export function meterBySlug(cp: CustomerPlan, slug: string): MeterDef {
  const system = cp.snapshot.creditSystems.get(slug);
  return {
    meter: slug,
    kind: system ? 'credit_system' : 'feature',
    creditSystem: system ? slug : '',
    costMicro: 1_000_000n,
    ...meterTerms(cp.plan, cp.subscription, slug),
  };
}

export const meterForFeature = (cp: CustomerPlan, feature: string) => resolveMeter(cp.snapshot, cp.plan, cp.subscription, feature);

/** The terms an event is accepted under, stamped on its Kafka message (the worker debits with exactly these). */
export function pricedTerms(cp: CustomerPlan, def: MeterDef, acceptedAtMs: number): PricedTerms {
  const args = meterArgs(cp, def, new Date(acceptedAtMs));
  return {
    meter: def.meter,
    creditSystem: def.creditSystem,
    costMicro: def.costMicro.toString(),
    limitMicro: String(args.limit),
    periodStartMs: args.startMs,
    periodEndMs: args.endMs,
    plan: cp.subscription?.planSlug ?? '',
  };
}
