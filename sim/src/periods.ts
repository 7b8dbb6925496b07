/**
 * Reset periods for the reference model, written from the documented rule
 * (docs/catalog.md): calendar months from the subscription's anchor (a day
 * the month lacks is clamped to its last day, always counted from the anchor
 * itself), fixed lengths for minute/hour/day/week intervals, no period for
 * `never`/`none`. The anchor is cut to whole seconds (docs/metering.md).
 */
const FIXED: Record<string, number> = {
  '5min': 300_000, '15min': 900_000, '30min': 1_800_000, hourly: 3_600_000, daily: 86_400_000, weekly: 604_800_000,
};
const MONTHS: Record<string, number> = { monthly: 1, quarterly: 3, semi_annual: 6, yearly: 12 };

export const NO_PERIOD = { start: 0, end: Number.MAX_SAFE_INTEGER };

export function addMonths(anchorMs: number, months: number): number {
  const a = new Date(anchorMs);
  const index = a.getUTCFullYear() * 12 + a.getUTCMonth() + months;
  const year = Math.floor(index / 12);
  const month = index - year * 12;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const day = Math.min(a.getUTCDate(), lastDay);
  const d = new Date(0);
  d.setUTCFullYear(year, month, day);
  d.setUTCHours(a.getUTCHours(), a.getUTCMinutes(), a.getUTCSeconds(), a.getUTCMilliseconds());
  return d.getTime();
}

/** The period of `reset` containing `atMs`, counted from `anchorMs`. */
export function periodAt(anchorMs: number | null, reset: string, atMs: number): { start: number; end: number } {
  if (anchorMs === null) return NO_PERIOD;
  const anchor = Math.floor(anchorMs / 1000) * 1000;
  const fixed = FIXED[reset];
  if (fixed !== undefined) {
    const k = Math.floor((atMs - anchor) / fixed);
    return { start: anchor + k * fixed, end: anchor + (k + 1) * fixed };
  }
  const step = MONTHS[reset];
  if (step === undefined) return NO_PERIOD;
  // walk from a guess; periods are at most a year long, so this is a few steps
  let k = Math.floor((atMs - anchor) / (step * 31 * 86_400_000));
  while (addMonths(anchor, (k + 1) * step) <= atMs) k++;
  while (addMonths(anchor, k * step) > atMs) k--;
  return { start: addMonths(anchor, k * step), end: addMonths(anchor, (k + 1) * step) };
}
