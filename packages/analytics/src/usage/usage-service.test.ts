import { describe, expect, it } from 'vitest';
import { usageQuerySchema } from '@tally/contracts';
import { toUsageQuery } from './usage-service.ts';

const NOW = new Date('2026-12-02T10:00:00Z');
const parse = (query: Record<string, string | string[]>) => usageQuerySchema.safeParse(query);
const issues = (query: Record<string, string | string[]>) => {
  const r = parse(query);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};
const build = (query: Record<string, string | string[]>) => toUsageQuery('t1', usageQuerySchema.parse(query), NOW);

describe('/v1/usage query: refused rather than answered unfiltered', () => {
  it.each([['customer'], ['feature'], ['foo'], ['properties.model'], ['Property.model']])('unknown key %s is a 400 naming it', (key) => {
    expect(issues({ [key]: 'x' })).toEqual([expect.stringMatching(new RegExp(`^${key.replace('.', '\\.')}: unknown query parameter`))]);
  });

  it.each([['property.'], ['property.a b'], [`property.${'x'.repeat(65)}`], ['property.é']])('malformed property filter %j is a 400', (key) => {
    expect(issues({ [key]: 'x' })[0]).toMatch(/a property filter is property\.<name>=<value>/);
  });

  it('a property filter given twice is a 400; given once it filters', () => {
    expect(issues({ 'property.model': ['a', 'b'] })).toEqual(['property.model: a property filter must be given once']);
    expect(build({ 'property.model': 'gpt-4o', 'property.region.eu': '1' }).properties).toEqual([
      ['model', 'gpt-4o'],
      ['region.eu', '1'],
    ]);
  });

  it('from and to must lie inside ClickHouse DateTime (1970 up to 2106, where it wraps silently)', () => {
    expect(issues({ to: '2300-01-01T00:00:00Z' })).toEqual(['to: must be before 2106-01-01T00:00:00.000Z (the end of ClickHouse\'s DateTime range)']);
    expect(issues({ to: '2106-01-01T00:00:00Z' })).toHaveLength(1);
    expect(issues({ to: '2105-12-31T23:00:00Z' })).toEqual([]);
    expect(issues({ from: '1969-12-31T00:00:00Z' })).toEqual(['from: must not be before 1970-01-01T00:00:00Z']);
  });

  it('a `to` beyond now is answered as asked, the default range ending there', () => {
    const q = build({ to: '2027-01-01T00:00:00Z' });
    expect(q.to.toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(q.from.toISOString()).toBe('2026-12-02T00:00:00.000Z');
  });

  it('time zones: canonical names for ClickHouse, unknown ones a 400 naming them', () => {
    expect(build({ timezone: 'europe/paris' }).timezone).toBe('Europe/Paris');
    expect(build({ timezone: 'utc' }).timezone).toBe('UTC');
    expect(build({}).timezone).toBe('UTC');
    expect(() => build({ timezone: 'Mars/Olympus' })).toThrow(expect.objectContaining({ status: 400, message: expect.stringContaining('"Mars/Olympus"') }));
  });
});
