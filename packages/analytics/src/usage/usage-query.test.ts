import { describe, expect, it } from 'vitest';
import { buildUsageSql, chooseSource, zoneOffsetMinutes, type UsageQuery } from './usage-query.ts';

const base = (over: Partial<UsageQuery> = {}): UsageQuery => ({
  tenantId: 't1',
  customers: [],
  features: [],
  creditSystems: [],
  properties: [],
  from: new Date('2026-10-01T00:00:00Z'),
  to: new Date('2026-11-01T00:00:00Z'),
  groupBy: [],
  window: null,
  timezone: 'UTC',
  aggregations: ['sum_value', 'sum_credits', 'count'],
  orderBy: null,
  limit: 100,
  ...over,
});

/** True when every single quote inside `text` outside of escapes pairs up (no literal was broken out of). */
function literalsBalanced(text: string): boolean {
  let inside = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inside && c === '\\') {
      i++;
      continue;
    }
    if (c === "'") inside = !inside;
  }
  return !inside;
}

describe('usage query builder', () => {
  it('answers from the daily rollup for whole UTC days, hourly for hours or other zones', () => {
    expect(chooseSource(base({ window: 'day' }))).toBe('usage_per_day_v1');
    expect(chooseSource(base({ window: 'hour' }))).toBe('usage_per_hour_v1');
    expect(chooseSource(base({ window: 'day', timezone: 'Europe/Paris' }))).toBe('usage_per_hour_v1');
    expect(chooseSource(base({ from: new Date('2026-10-01T05:00:00Z'), window: 'day' }))).toBe('usage_per_hour_v1');
  });

  it('falls back to raw events for minutes, properties, max, odd offsets and ragged ranges', () => {
    expect(chooseSource(base({ window: 'minute' }))).toBe('raw_usage_events_v1');
    expect(chooseSource(base({ properties: [['region', 'eu']] }))).toBe('raw_usage_events_v1');
    expect(chooseSource(base({ groupBy: ['property:model'] }))).toBe('raw_usage_events_v1');
    expect(chooseSource(base({ aggregations: ['max_value'] }))).toBe('raw_usage_events_v1');
    expect(chooseSource(base({ timezone: 'Asia/Kolkata', window: 'day' }))).toBe('raw_usage_events_v1');
    expect(chooseSource(base({ from: new Date('2026-10-01T00:30:00Z') }))).toBe('raw_usage_events_v1');
  });

  it('computes zone offsets', () => {
    expect(zoneOffsetMinutes('Asia/Kolkata', new Date('2026-01-01T00:00:00Z'))).toBe(330);
    expect(zoneOffsetMinutes('Europe/Paris', new Date('2026-07-01T00:00:00Z'))).toBe(120);
    expect(() => zoneOffsetMinutes('Not/AZone', new Date())).toThrow(RangeError);
  });

  it('always scopes by tenant first and groups by fixed aliases', () => {
    const { query } = buildUsageSql(base({ groupBy: ['customer', 'feature'], window: 'day', orderBy: 'sum_credits' }), 'tally');
    expect(query.text).toContain("WHERE tenant_id = 't1' AND day >= toDate(");
    expect(query.text).toContain('customer_id AS `g0`, feature AS `g1`');
    expect(query.text).toContain('GROUP BY bucket, g0, g1');
    expect(query.text).toContain('ORDER BY `sum_credits` DESC');
  });

  it('counts distinct customers from a rollup per customer first', () => {
    const { source, query } = buildUsageSql(base({ window: 'day', aggregations: ['distinct_customers', 'count'] }), 'tally');
    expect(source).toBe('usage_per_day_v1');
    expect(query.text).toContain('customer_id AS cust');
    expect(query.text).toContain('GROUP BY bucket, cust HAVING m_events != 0');
    expect(query.text).toContain('uniqExact(cust) AS `distinct_customers`');
  });

  it('reads each raw event once, in its latest version, and drops reverted ones after the collapse', () => {
    const { query } = buildUsageSql(base({ window: 'minute', customers: ['c1'], properties: [['region', 'eu']] }), 'tally');
    const [inner, outer] = query.text.split(') WHERE ');
    expect(inner).toContain("FROM `tally`.`raw_usage_events_v1` FINAL WHERE tenant_id = 't1' AND event_time >= ");
    expect(inner).toContain("customer_id IN ('c1')");
    // Columns that differ between an event's versions are filtered only on the collapsed rows.
    expect(inner).not.toContain('reverted =');
    expect(inner).not.toContain('visitParam');
    expect(outer).toContain('reverted = 0');
    expect(outer).toContain("visitParamExtractString(properties, 'region')");
  });

  it('keeps injection payloads inside literals in every user-controlled position', () => {
    const payloads = ["' OR 1=1 --", "\\' OR 1=1 --", "x') UNION ALL SELECT * FROM system.users --", "a\\", "'; DROP TABLE raw_usage_events_v1; --", '`g0`'];
    for (const p of payloads) {
      const { query } = buildUsageSql(
        base({
          tenantId: p,
          customers: [p, 'ok'],
          features: [p],
          creditSystems: [p],
          properties: [[p, p]],
          groupBy: [`property:${p}`],
          window: 'day',
          timezone: p,
        }),
        'tally',
      );
      expect(literalsBalanced(query.text)).toBe(true);
      // Outside of the literals nothing of the payload survives.
      const outside = query.text.replace(/'(?:[^'\\]|\\.)*'/g, "''");
      expect(outside).not.toContain('DROP');
      expect(outside).not.toContain('UNION');
      expect(outside).not.toContain('OR 1=1');
    }
  });

  it('refuses a database name that is not a plain identifier', () => {
    expect(() => buildUsageSql(base(), 'tally; DROP')).toThrow();
  });
});
