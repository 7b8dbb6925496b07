import { describe, expect, it } from 'vitest';
import { progressLine, summary } from './cli-import.ts';
import { usageQueryString } from './usage.ts';

describe('usage() query string', () => {
  it('renders lists, dates, property filters and the rest', () => {
    const q = usageQueryString({
      customers: ['c1', 'c,2'],
      from: new Date('2026-11-01T00:00:00Z'),
      to: '2026-12-01T00:00:00Z',
      properties: { region: 'eu & us' },
      groupBy: ['customer', 'property:model'],
      window: 'day',
      timezone: 'Europe/Paris',
      aggregations: ['sum_credits', 'count'],
      orderBy: 'sum_credits',
      limit: 10,
    });
    const params = new URLSearchParams(q.slice(1));
    expect(params.get('customers')).toBe('c1,c,2');
    expect(params.get('from')).toBe('2026-11-01T00:00:00.000Z');
    expect(params.get('property.region')).toBe('eu & us');
    expect(params.get('groupBy')).toBe('customer,property:model');
    expect(params.get('limit')).toBe('10');
    expect(usageQueryString({})).toBe('');
  });
});

describe('tally import progress', () => {
  it('shows a bar, rows, rate and the time left', () => {
    expect(progressLine({ state: 'running', chunksDone: 1, chunksTotal: 4, rowsRead: 100_000, rate: 50_000 }, 8)).toBe(
      '[##......]  25%  100,000 rows  50,000 rows/s  6s left',
    );
    expect(progressLine({ state: 'completed', chunksDone: 4, chunksTotal: 4, rowsRead: 400_000, rate: 50_000 }, 8)).toContain('100%  400,000 rows  50,000 rows/s  done');
  });

  it('summarises the outcome', () => {
    const text = summary({
      success: true, id: 'i1', mode: 'report', format: 'ndjson', state: 'completed', bytes: 1234, chunksTotal: 1, chunksDone: 1,
      rowsRead: 10, accepted: 7, duplicates: 1, rejected: 2, flagged: 0, rate: 10, error: null, createdAt: '', startedAt: null, finishedAt: null, revertedAt: null,
    });
    expect(text).toContain('accepted   7');
    expect(text).toContain('rejected   2  (GET /v1/imports/i1/rejected)');
  });
});
