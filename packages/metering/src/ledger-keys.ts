import { keys } from '@tally/redis';

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
