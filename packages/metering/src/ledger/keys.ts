import { rolloverPrefix } from '@tally/core';
import { keys } from '@tally/redis';
import type { MeterRollover } from '../meter-context.ts';

/** The Redis keys of one meter, in the order the Lua scripts take them. */
export const meterKeys = (t: string, c: string, meter: string) => [
  keys.meter(t, c, meter),
  keys.grants(t, c, meter),
  keys.grantOrder(t, c, meter),
  keys.grantExpiry(t, c, meter),
];

export const seenKeys = (t: string, c: string, gen: { current: string; previous: string }) => [
  keys.seenEvents(t, c, gen.current),
  keys.seenEvents(t, c, gen.previous),
];

/** A meter's rollover terms as the Lua scripts read them (read_rollover in lib/ledger.lua); -1 = none. */
export function rolloverArgv(meter: string, r: MeterRollover | null): (string | number)[] {
  if (!r) return [-1, 0, '', 0];
  return [Number(r.maxMicro), r.periods, rolloverPrefix(meter), r.windows.length, ...r.windows.flatMap((w) => [w.startMs, w.endMs])];
}
