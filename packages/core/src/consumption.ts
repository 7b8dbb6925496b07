/**
 * Order of consumption for one meter (a credit system, or a standalone
 * metered feature): rolled-over allowance, then the plan allowance of the
 * current period, then purchased grants in spending order (expired ones
 * skipped), then overage. Pure;
 * packages/redis/lua/lib/ledger.lua applies the same rules inside Redis and
 * an integration test checks the two agree.
 */
import type { ResetInterval } from './catalog.ts';
import { currentPeriod } from './periods.ts';

export interface GrantState {
  id: string;
  remainingMicro: bigint;
  grantedAtMs: number;
  expiresAtMs: number | null;
}

export interface MeterState {
  /** Plan allowance per period; null = unlimited. */
  limitMicro: bigint | null;
  /** Plan allowance used this period. */
  usedMicro: bigint;
  grants: GrantState[];
}

export interface Split {
  planMicro: bigint;
  purchasedMicro: bigint;
  overageMicro: bigint;
}

export const ZERO_SPLIT: Split = { planMicro: 0n, purchasedMicro: 0n, overageMicro: 0n };

export const splitTotal = (s: Split) => s.planMicro + s.purchasedMicro + s.overageMicro;

/** What is left of the plan allowance; null when unlimited. Never negative. */
export function planRemaining(state: Pick<MeterState, 'limitMicro' | 'usedMicro'>): bigint | null {
  if (state.limitMicro === null) return null;
  const left = state.limitMicro - state.usedMicro;
  return left > 0n ? left : 0n;
}

const usable = (g: GrantState, nowMs: number) => g.remainingMicro > 0n && (g.expiresAtMs === null || g.expiresAtMs > nowMs);

/**
 * Offset of the spending score of grants without an expiry: above every
 * expires-at ms (year 2286), below 2^53 with any granted-at ms added, so one
 * Redis sorted-set score orders both kinds exactly.
 */
export const NO_EXPIRY_SCORE_OFFSET = 10_000_000_000_000;

/**
 * The grant's score in the Redis spending order (`grant-order:<system>`):
 * grants with an expiry by expires-at, then grants without one by granted-at.
 * Equal scores fall back to the grant id (as a sorted set orders its members).
 */
export const spendingScore = (g: Pick<GrantState, 'grantedAtMs' | 'expiresAtMs'>): number =>
  g.expiresAtMs !== null ? g.expiresAtMs : NO_EXPIRY_SCORE_OFFSET + g.grantedAtMs;

/** Grants in spending order: the oldest-expiring first, then those without an expiry oldest first, id as tie-break. */
export function spendingOrder<G extends GrantState>(grants: G[]): G[] {
  return [...grants].sort((a, b) => spendingScore(a) - spendingScore(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Sum of unspent, unexpired purchased credits. */
export function purchasedAvailable(grants: GrantState[], nowMs: number): bigint {
  return grants.reduce((sum, g) => (usable(g, nowMs) ? sum + g.remainingMicro : sum), 0n);
}

/**
 * Splits `neededMicro` across the buckets and returns the new state. Whatever
 * the plan and grants cannot cover is overage: async usage is never lost
 * (whether overage is allowed is the check's decision, not the ledger's).
 */
export function consume(state: MeterState, neededMicro: bigint, nowMs: number): { split: Split; state: MeterState } {
  if (neededMicro < 0n) throw new RangeError('cannot consume a negative amount');
  const grants = spendingOrder(state.grants).map((g) => ({ ...g }));
  // rolled-over allowance first (it expires first), counted as purchased: `planMicro` is this period's own allowance
  const rolled = takeFrom(grants, neededMicro, nowMs, isRolloverGrant);
  let left = neededMicro - rolled;
  const remaining = planRemaining(state);
  const planMicro = remaining === null ? left : left < remaining ? left : remaining;
  left -= planMicro;
  const bought = takeFrom(grants, left, nowMs, (g) => !isRolloverGrant(g));
  left -= bought;
  return {
    split: { planMicro, purchasedMicro: rolled + bought, overageMicro: left },
    state: { limitMicro: state.limitMicro, usedMicro: state.usedMicro + planMicro, grants },
  };
}

/** A carry of unused plan allowance (docs/metering.md "Rollover"), id `ro:<meter>:<period start ms>`. */
export const isRolloverGrant = (g: Pick<GrantState, 'id'>) => g.id.startsWith('ro:');

/** Takes up to `wantMicro` from the usable grants `pick` selects, in list order; returns what it took. */
function takeFrom(grants: GrantState[], wantMicro: bigint, nowMs: number, pick: (g: GrantState) => boolean): bigint {
  let left = wantMicro;
  for (const g of grants) {
    if (left === 0n) break;
    if (!usable(g, nowMs) || !pick(g)) continue;
    const take = left < g.remainingMicro ? left : g.remainingMicro;
    g.remainingMicro -= take;
    left -= take;
  }
  return wantMicro - left;
}

/** Purchased usage of one meter as the usage rows recorded it: what each grant gave, and what rows without takes drew. */
export interface PurchasedUsage {
  takes: Map<string, bigint>;
  untrackedMicro: bigint;
}

/**
 * Each grant's remainder for a rebuild. A grant that has expired or was refunded is closed: an
 * expired one keeps what its own rows' takes left it (its remainder was forfeited at that instant), a
 * refunded one keeps nothing and stays charged with what it had given when refunded (credits -
 * revoked). The rest of the purchased usage of all time (every row's takes from these grants, and
 * the purchased credits of rows without takes, less what the closed grants account for) is spent
 * again over the open grants in spending order, each up to credits - revoked: what a ledger that
 * never saw a reverted event would hold, whichever grant that event had taken from. So a revert
 * gives the credits back to the open grants, and never reopens a refunded one.
 */
export function grantRemainders(grants: (GrantState & { revoked: boolean })[], usage: PurchasedUsage, nowMs: number): Map<string, bigint> {
  const left = new Map<string, bigint>();
  const expired = (g: GrantState) => g.expiresAtMs !== null && g.expiresAtMs <= nowMs;
  let pool = usage.untrackedMicro;
  for (const g of grants) {
    const taken = usage.takes.get(g.id) ?? 0n;
    pool += taken;
    if (g.revoked) {
      left.set(g.id, 0n);
      pool -= g.remainingMicro;
    } else if (expired(g)) {
      left.set(g.id, g.remainingMicro > taken ? g.remainingMicro - taken : 0n);
      pool -= g.remainingMicro < taken ? g.remainingMicro : taken;
    }
  }
  for (const g of spendingOrder(grants)) {
    if (g.revoked || expired(g)) continue;
    const take = pool <= 0n ? 0n : pool < g.remainingMicro ? pool : g.remainingMicro;
    left.set(g.id, g.remainingMicro - take);
    pool -= take;
  }
  return left;
}

/** An entitlement's rollover: at most `maxMicro` of each period's unused allowance, usable for `periods` periods. */
export interface RolloverTerms {
  maxMicro: bigint;
  periods: number;
}

export interface PeriodWindow {
  startMs: number;
  endMs: number;
}

/**
 * The periods before the one starting at `periodStartMs` whose unused
 * allowance may still be usable in it: at most `periods` of them, oldest
 * first, none starting before the (whole-second) anchor: a period the
 * subscription did not have gives no carry. Same boundaries as meterPeriod.
 */
export function rolloverWindows(anchorAt: Date, reset: ResetInterval, periodStartMs: number, periods: number): PeriodWindow[] {
  const anchor = new Date(Math.floor(anchorAt.getTime() / 1000) * 1000);
  const out: PeriodWindow[] = [];
  let start = periodStartMs;
  for (let i = 0; i < periods; i++) {
    const p = currentPeriod(anchor, reset, new Date(start - 1));
    if (!p || p.start.getTime() < anchor.getTime() || p.end.getTime() !== start) break;
    out.unshift({ startMs: p.start.getTime(), endMs: p.end.getTime() });
    start = p.start.getTime();
  }
  return out;
}

/** What one period carries over: its unused allowance (never negative), capped at `maxMicro`; nothing from an unlimited one. */
export function rolloverCarry(limitMicro: bigint | null, usedMicro: bigint, maxMicro: bigint): bigint {
  if (limitMicro === null) return 0n;
  const unused = limitMicro - usedMicro;
  if (unused <= 0n) return 0n;
  return unused < maxMicro ? unused : maxMicro;
}

/**
 * Periods a carry from window `index` (0 = oldest of `windowCount`, the last is
 * the period just before the current one) is still usable for, the current one
 * included: a carry from the period just before lives `periods` periods.
 */
export const rolloverLife = (periods: number, windowCount: number, index: number) => periods - (windowCount - 1 - index);

/** The grant id of the carry out of the period starting at `startMs` (packages/redis/lua/lib/ledger.lua). */
export const rolloverGrantId = (meter: string, startMs: number) => `${rolloverPrefix(meter)}${startMs}`;
export const rolloverPrefix = (meter: string) => `ro:${meter}:`;
