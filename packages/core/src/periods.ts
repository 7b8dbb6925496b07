import type { ResetInterval } from './catalog.ts';

/** A reset period: `start` inclusive, `end` exclusive, both UTC instants. */
export interface Period {
  start: Date;
  end: Date;
}

const MINUTE = 60_000;
const FIXED_MS: Partial<Record<ResetInterval, number>> = {
  '5min': 5 * MINUTE,
  '15min': 15 * MINUTE,
  '30min': 30 * MINUTE,
  hourly: 60 * MINUTE,
  daily: 24 * 60 * MINUTE,
  weekly: 7 * 24 * 60 * MINUTE,
};
const CALENDAR_MONTHS: Partial<Record<ResetInterval, number>> = { monthly: 1, quarterly: 3, semi_annual: 6, yearly: 12 };

const daysInMonth = (year: number, month0: number) => new Date(Date.UTC(year, month0 + 1, 0)).getUTCDate();

/**
 * The anchor moved by `months` calendar months, keeping its day of month and
 * time of day; a day the target month lacks is clamped to its last day. Always
 * computed from the anchor itself (never from the previous period), so an
 * anchor on the 31st gives Feb 28/29 and then the 31st again in March.
 */
export function addCalendarMonths(anchor: Date, months: number): Date {
  const total = anchor.getUTCFullYear() * 12 + anchor.getUTCMonth() + months;
  const year = Math.floor(total / 12);
  const month0 = total - year * 12;
  const day = Math.min(anchor.getUTCDate(), daysInMonth(year, month0));
  const d = new Date(0);
  d.setUTCFullYear(year, month0, day);
  d.setUTCHours(anchor.getUTCHours(), anchor.getUTCMinutes(), anchor.getUTCSeconds(), anchor.getUTCMilliseconds());
  return d;
}

/**
 * The reset period of `reset` that contains `now`, counted from `anchorAt`
 * (the subscription's anchor). Calendar intervals (monthly, quarterly,
 * semi_annual, yearly) step in exact calendar months from the anchor;
 * minute/hour/day/week intervals are fixed lengths from the anchor. `none`
 * and `never` have no period: null. Instants before the anchor fall in the
 * periods counted backwards from it.
 */
export function currentPeriod(anchorAt: Date, reset: ResetInterval, now: Date): Period | null {
  const anchorMs = anchorAt.getTime();
  const nowMs = now.getTime();
  if (Number.isNaN(anchorMs) || Number.isNaN(nowMs)) throw new RangeError('currentPeriod: invalid date');

  const fixed = FIXED_MS[reset];
  if (fixed !== undefined) {
    const k = Math.floor((nowMs - anchorMs) / fixed);
    return { start: new Date(anchorMs + k * fixed), end: new Date(anchorMs + (k + 1) * fixed) };
  }

  const step = CALENDAR_MONTHS[reset];
  if (step === undefined) return null; // none, never

  // Estimate the period index from the month difference, then correct by one
  // either way (the day/time within the month decides which side we are on).
  const monthDiff = (now.getUTCFullYear() - anchorAt.getUTCFullYear()) * 12 + (now.getUTCMonth() - anchorAt.getUTCMonth());
  let k = Math.floor(monthDiff / step);
  while (addCalendarMonths(anchorAt, k * step).getTime() > nowMs) k -= 1;
  while (addCalendarMonths(anchorAt, (k + 1) * step).getTime() <= nowMs) k += 1;
  return { start: addCalendarMonths(anchorAt, k * step), end: addCalendarMonths(anchorAt, (k + 1) * step) };
}
