import { fromMicro, NO_PERIOD_END_MS, type MeterDef } from '@tally/core';
import type { CreditsInfo } from '@tally/contracts';
import type { MeterSnapshot } from './ledger/index.ts';

/** The balance fields shared by the check and track answers (API.md). */
export interface BalanceFields {
  usage: number | null;
  limit: number | null;
  balance: number | null;
  resetsAt: string | null;
  resetInterval: MeterDef['reset'] | null;
  credits: CreditsInfo | null;
}

export function balanceFields(def: MeterDef, s: MeterSnapshot): BalanceFields {
  const planLeft = s.limitMicro === null ? null : s.limitMicro > s.usedMicro ? s.limitMicro - s.usedMicro : 0n;
  const resetsAt = def.inPlan && s.periodEndMs < NO_PERIOD_END_MS ? new Date(s.periodEndMs).toISOString() : null;
  const limit = s.limitMicro === null ? null : fromMicro(s.limitMicro);
  return {
    usage: fromMicro(s.usedMicro),
    limit,
    balance: planLeft === null ? null : fromMicro(planLeft + s.purchasedMicro),
    resetsAt,
    resetInterval: def.inPlan ? def.reset : null,
    credits:
      def.kind === 'credit_system'
        ? {
            source: 'credit_system',
            systemSlug: def.creditSystem,
            costPerUnit: fromMicro(def.costMicro),
            addonBalance: fromMicro(s.purchasedMicro),
            plan: { used: fromMicro(s.usedMicro), limit, balance: planLeft === null ? null : fromMicro(planLeft), resetsAt },
          }
        : null,
  };
}

export const emptyFields: BalanceFields = { usage: null, limit: null, balance: null, resetsAt: null, resetInterval: null, credits: null };
