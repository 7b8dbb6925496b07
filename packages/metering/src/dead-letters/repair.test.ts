import { describe, expect, it } from 'vitest';
import { repairRow } from './repair.ts';

describe('repairRow', () => {
  it('replaces lone surrogates and NUL in strings at any depth, keys included, and keeps everything else', () => {
    const parsed = JSON.parse(JSON.stringify({ customer_id: 'sur\ud800x', n: 3, ok: true, none: null, nested: { 'k\u0000': ['a\udc00', 'fine 😀', 7] } }));
    expect(repairRow(parsed)).toEqual({ customer_id: 'sur\uFFFDx', n: 3, ok: true, none: null, nested: { 'k\uFFFD': ['a\uFFFD', 'fine 😀', 7] } });
  });

  it('a row without such characters comes back equal', () => {
    const row = { tenant_id: 't', event_time: 1_700_000_000, properties: '{"a":1}' };
    expect(repairRow(row)).toEqual(row);
  });
});
