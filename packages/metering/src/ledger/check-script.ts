import { keys } from '@tally/redis';
import { ledgerScripts } from './scripts.ts';
import type { LedgerStore } from './ledger-store.ts';
import type { Rebuilder } from '../rebuild.ts';
import type { MeterArgs } from '../meter-context.ts';
import { dedupGenerations } from './fingerprints.ts';
import { meterKeys, rolloverArgv, seenKeys } from './keys.ts';
import { withCustomerState } from './customer-state.ts';

export interface MeterSnapshot {
  /** 0 ok, 3 duplicate (already applied), 4 conflict */
  status: number;
  allowed: boolean;
  split: { planMicro: bigint; purchasedMicro: bigint; overageMicro: bigint };
  usedMicro: bigint;
  /** null = unlimited */
  limitMicro: bigint | null;
  purchasedMicro: bigint;
  overageMicro: bigint;
  periodEndMs: number;
}

export interface StrictEvent {
  digest: Buffer;
  fingerprint: Buffer;
  neededMicro: bigint;
}

/**
 * One call of check.8.lua: the meter's state after a lazy period reset, and
 * with `send` the atomic decide-and-debit. Rebuilds the customer first when
 * Redis has no state for it.
 */
export async function runCheckScript(
  ledger: LedgerStore,
  rebuilder: Rebuilder,
  t: string,
  c: string,
  args: MeterArgs,
  event: { neededMicro: bigint; send: StrictEvent | null },
): Promise<MeterSnapshot> {
  const now = Date.now();
  const gen = dedupGenerations(now);
  const k = [keys.hydrated(t, c), ...meterKeys(t, c, args.def.meter), ...seenKeys(t, c, gen), keys.appliedLog(t, c)];
  const a = [
    now,
    gen.expireAtMs,
    args.startMs,
    args.endMs,
    args.limit,
    event.neededMicro.toString(),
    args.def.overage === 'charge' ? 1 : 0,
    event.send ? 1 : 0,
    event.send?.digest ?? '',
    event.send?.fingerprint ?? '',
    ...rolloverArgv(args.def.meter, args.rollover),
  ];
  let r: number[];
  for (;;) {
    r = await withCustomerState(rebuilder, t, c, async () => {
      const out = await ledger.run<number[]>(ledgerScripts.check, k, a);
      return out[0] === -1 ? -1 : out;
    });
    if (r[0] !== -2) break;
    await rebuilder.settlePeriod(t, c, args.def.meter, args.startMs, args.endMs); // a meter rebuilt without a period
  }
  const n = (i: number) => BigInt(r[i] ?? 0);
  return {
    status: r[0]!,
    allowed: r[1] === 1,
    split: { planMicro: n(2), purchasedMicro: n(3), overageMicro: n(4) },
    usedMicro: n(5),
    limitMicro: r[6]! < 0 ? null : n(6),
    purchasedMicro: n(7),
    overageMicro: n(8),
    periodEndMs: r[10]!,
  };
}
