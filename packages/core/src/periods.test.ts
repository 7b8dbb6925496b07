import { describe, expect, it } from 'vitest';
import { RESET_INTERVALS } from './catalog.ts';
import { addCalendarMonths, currentPeriod } from './periods.ts';

const d = (iso: string) => new Date(iso);
const iso = (p: { start: Date; end: Date } | null) => (p ? [p.start.toISOString(), p.end.toISOString()] : null);

describe('currentPeriod: calendar months from the anchor', () => {
  it('monthly on an ordinary day keeps the day and time of day', () => {
    const anchor = d('2026-01-15T10:30:00.000Z');
    expect(iso(currentPeriod(anchor, 'monthly', d('2026-01-15T10:30:00.000Z')))).toEqual(['2026-01-15T10:30:00.000Z', '2026-02-15T10:30:00.000Z']);
    expect(iso(currentPeriod(anchor, 'monthly', d('2026-02-15T10:29:59.999Z')))).toEqual(['2026-01-15T10:30:00.000Z', '2026-02-15T10:30:00.000Z']);
    expect(iso(currentPeriod(anchor, 'monthly', d('2026-02-15T10:30:00.000Z')))).toEqual(['2026-02-15T10:30:00.000Z', '2026-03-15T10:30:00.000Z']);
    expect(iso(currentPeriod(anchor, 'monthly', d('2027-12-31T23:59:59.000Z')))).toEqual(['2027-12-15T10:30:00.000Z', '2028-01-15T10:30:00.000Z']);
  });

  it('an anchor on the 31st clamps to Feb 28 (29 in leap years) and returns to the 31st', () => {
    const anchor = d('2026-01-31T00:00:00.000Z');
    expect(iso(currentPeriod(anchor, 'monthly', d('2026-02-10T00:00:00.000Z')))).toEqual(['2026-01-31T00:00:00.000Z', '2026-02-28T00:00:00.000Z']);
    expect(iso(currentPeriod(anchor, 'monthly', d('2026-03-01T00:00:00.000Z')))).toEqual(['2026-02-28T00:00:00.000Z', '2026-03-31T00:00:00.000Z']);
    expect(iso(currentPeriod(anchor, 'monthly', d('2026-04-15T00:00:00.000Z')))).toEqual(['2026-03-31T00:00:00.000Z', '2026-04-30T00:00:00.000Z']);
    expect(iso(currentPeriod(anchor, 'monthly', d('2026-05-01T00:00:00.000Z')))).toEqual(['2026-04-30T00:00:00.000Z', '2026-05-31T00:00:00.000Z']);
    const leap = d('2028-01-31T12:00:00.000Z');
    expect(iso(currentPeriod(leap, 'monthly', d('2028-02-29T11:59:59.999Z')))).toEqual(['2028-01-31T12:00:00.000Z', '2028-02-29T12:00:00.000Z']);
    expect(iso(currentPeriod(leap, 'monthly', d('2028-02-29T12:00:00.000Z')))).toEqual(['2028-02-29T12:00:00.000Z', '2028-03-31T12:00:00.000Z']);
  });

  it('an anchor on the 30th or 29th behaves the same way', () => {
    expect(iso(currentPeriod(d('2025-11-30T00:00:00Z'), 'monthly', d('2026-02-28T00:00:00Z')))).toEqual(['2026-02-28T00:00:00.000Z', '2026-03-30T00:00:00.000Z']);
    expect(iso(currentPeriod(d('2025-12-29T00:00:00Z'), 'monthly', d('2026-02-27T00:00:00Z')))).toEqual(['2026-01-29T00:00:00.000Z', '2026-02-28T00:00:00.000Z']);
  });

  it('quarterly and semi_annual step 3 and 6 months from the anchor, clamped', () => {
    const anchor = d('2025-11-30T08:00:00.000Z');
    expect(iso(currentPeriod(anchor, 'quarterly', d('2026-01-01T00:00:00Z')))).toEqual(['2025-11-30T08:00:00.000Z', '2026-02-28T08:00:00.000Z']);
    expect(iso(currentPeriod(anchor, 'quarterly', d('2026-03-01T00:00:00Z')))).toEqual(['2026-02-28T08:00:00.000Z', '2026-05-30T08:00:00.000Z']);
    expect(iso(currentPeriod(anchor, 'semi_annual', d('2026-06-01T00:00:00Z')))).toEqual(['2026-05-30T08:00:00.000Z', '2026-11-30T08:00:00.000Z']);
    const aug31 = d('2025-08-31T00:00:00Z');
    expect(iso(currentPeriod(aug31, 'semi_annual', d('2026-02-28T00:00:00Z')))).toEqual(['2026-02-28T00:00:00.000Z', '2026-08-31T00:00:00.000Z']);
  });

  it('yearly from Feb 29 lands on Feb 28 in common years and Feb 29 in leap years', () => {
    const anchor = d('2024-02-29T00:00:00.000Z');
    expect(iso(currentPeriod(anchor, 'yearly', d('2024-12-31T00:00:00Z')))).toEqual(['2024-02-29T00:00:00.000Z', '2025-02-28T00:00:00.000Z']);
    expect(iso(currentPeriod(anchor, 'yearly', d('2025-02-28T00:00:00Z')))).toEqual(['2025-02-28T00:00:00.000Z', '2026-02-28T00:00:00.000Z']);
    expect(iso(currentPeriod(anchor, 'yearly', d('2028-03-01T00:00:00Z')))).toEqual(['2028-02-29T00:00:00.000Z', '2029-02-28T00:00:00.000Z']);
  });

  it('instants before the anchor fall in periods counted backwards', () => {
    const anchor = d('2026-03-31T00:00:00.000Z');
    expect(iso(currentPeriod(anchor, 'monthly', d('2026-03-15T00:00:00Z')))).toEqual(['2026-02-28T00:00:00.000Z', '2026-03-31T00:00:00.000Z']);
    expect(iso(currentPeriod(anchor, 'daily', d('2026-03-30T12:00:00Z')))).toEqual(['2026-03-30T00:00:00.000Z', '2026-03-31T00:00:00.000Z']);
  });
});

describe('currentPeriod: fixed lengths from the anchor', () => {
  const anchor = d('2026-01-01T10:07:30.000Z');
  it.each([
    ['5min', '2026-01-01T10:19:00.000Z', '2026-01-01T10:17:30.000Z', '2026-01-01T10:22:30.000Z'],
    ['15min', '2026-01-01T10:22:30.000Z', '2026-01-01T10:22:30.000Z', '2026-01-01T10:37:30.000Z'],
    ['30min', '2026-01-01T11:00:00.000Z', '2026-01-01T10:37:30.000Z', '2026-01-01T11:07:30.000Z'],
    ['hourly', '2026-01-02T00:00:00.000Z', '2026-01-01T23:07:30.000Z', '2026-01-02T00:07:30.000Z'],
    ['daily', '2026-03-01T10:07:29.999Z', '2026-02-28T10:07:30.000Z', '2026-03-01T10:07:30.000Z'],
    ['weekly', '2026-01-15T00:00:00.000Z', '2026-01-08T10:07:30.000Z', '2026-01-15T10:07:30.000Z'],
  ] as const)('%s', (reset, now, start, end) => {
    expect(iso(currentPeriod(anchor, reset, d(now)))).toEqual([start, end]);
  });

  it('none and never have no period', () => {
    expect(currentPeriod(anchor, 'none', d('2030-01-01T00:00:00Z'))).toBeNull();
    expect(currentPeriod(anchor, 'never', d('2030-01-01T00:00:00Z'))).toBeNull();
  });

  it('every resetting interval contains now, and consecutive periods tile without gaps', () => {
    const anchors = ['2024-02-29T23:59:59.999Z', '2025-01-31T00:00:00.000Z', '2025-07-15T12:34:56.789Z'].map(d);
    for (const reset of RESET_INTERVALS) {
      if (reset === 'none' || reset === 'never') continue;
      for (const a of anchors) {
        let now = d('2026-01-01T00:00:00Z');
        let prev = currentPeriod(a, reset, now)!;
        for (let i = 0; i < 40; i += 1) {
          expect(prev.start.getTime()).toBeLessThanOrEqual(now.getTime());
          expect(prev.end.getTime()).toBeGreaterThan(now.getTime());
          now = prev.end;
          const next = currentPeriod(a, reset, now)!;
          expect(next.start.getTime()).toBe(prev.end.getTime());
          prev = next;
        }
      }
    }
  });

  it('rejects invalid dates', () => {
    expect(() => currentPeriod(new Date('nope'), 'monthly', new Date())).toThrow(RangeError);
  });
});

describe('addCalendarMonths', () => {
  it('moves backwards across years and clamps', () => {
    expect(addCalendarMonths(d('2026-03-31T05:00:00Z'), -1).toISOString()).toBe('2026-02-28T05:00:00.000Z');
    expect(addCalendarMonths(d('2026-01-31T05:00:00Z'), -2).toISOString()).toBe('2025-11-30T05:00:00.000Z');
    expect(addCalendarMonths(d('2026-01-31T05:00:00Z'), 25).toISOString()).toBe('2028-02-29T05:00:00.000Z');
  });
});
