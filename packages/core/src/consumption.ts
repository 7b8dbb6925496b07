/**
 * Order of consumption for one meter (a credit system, or a standalone
 * metered feature): the plan allowance of the current period first, then
 * purchased grants oldest first (expired ones skipped), then overage. Pure;
 * packages/redis/lua/lib/ledger.lua applies the same rules inside Redis and
 * an integration test checks the two agree.
 */
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

/** Grants in spending order: oldest first, id as tie-break (same order as the Redis sorted set). */
export function spendingOrder<G extends GrantState>(grants: G[]): G[] {
  return [...grants].sort((a, b) => a.grantedAtMs - b.grantedAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
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
  let left = neededMicro;
  const remaining = planRemaining(state);
  const planMicro = remaining === null ? left : left < remaining ? left : remaining;
  left -= planMicro;
  let purchasedMicro = 0n;
  const grants = spendingOrder(state.grants).map((g) => ({ ...g }));
  for (const g of grants) {
    if (left === 0n) break;
    if (!usable(g, nowMs)) continue;
    const take = left < g.remainingMicro ? left : g.remainingMicro;
    g.remainingMicro -= take;
    purchasedMicro += take;
    left -= take;
  }
  return {
    split: { planMicro, purchasedMicro, overageMicro: left },
    state: { limitMicro: state.limitMicro, usedMicro: state.usedMicro + planMicro, grants },
  };
}
