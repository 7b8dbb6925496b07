/**
 * The answer of `check` for one meter, from its current state. Pure: the
 * strict path (sendEvent) makes the same decision inside Redis
 * (packages/redis/lua/check.8.lua); this is the one definition of the codes.
 */
export type CheckCode =
  | 'access_granted'
  | 'addon_credits_used'
  | 'overage_allowed'
  | 'limit_exceeded'
  | 'insufficient_credits'
  | 'customer_not_found'
  | 'feature_not_found'
  | 'no_active_subscription'
  | 'feature_not_in_plan'
  | 'subscription_past_due';

export interface CheckInput {
  kind: 'credit_system' | 'feature';
  neededMicro: bigint;
  /** Plan allowance left this period; null = unlimited. */
  planRemainingMicro: bigint | null;
  purchasedMicro: bigint;
  overage: 'block' | 'charge';
}

export interface CheckDecision {
  allowed: boolean;
  code: CheckCode;
}

export function decideCheck(input: CheckInput): CheckDecision {
  const { neededMicro, planRemainingMicro, purchasedMicro } = input;
  if (planRemainingMicro === null || neededMicro <= planRemainingMicro) return { allowed: true, code: 'access_granted' };
  if (neededMicro <= planRemainingMicro + purchasedMicro) return { allowed: true, code: 'addon_credits_used' };
  if (input.overage === 'charge') return { allowed: true, code: 'overage_allowed' };
  return { allowed: false, code: input.kind === 'credit_system' ? 'insufficient_credits' : 'limit_exceeded' };
}

/** The code of a debit that already happened (strict path), from how it was split. */
export function codeForSplit(split: { purchasedMicro: bigint; overageMicro: bigint }): CheckCode {
  if (split.overageMicro > 0n) return 'overage_allowed';
  if (split.purchasedMicro > 0n) return 'addon_credits_used';
  return 'access_granted';
}
