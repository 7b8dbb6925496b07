import { describe, expect, it } from 'vitest';
import { ident, inList, literal, quoteString, sql } from './sql.ts';

describe('ClickHouse SQL escaping', () => {
  it('escapes quotes, backslashes and control characters', () => {
    expect(quoteString("it's")).toBe("'it\\'s'");
    expect(quoteString('a\\b')).toBe("'a\\\\b'");
    expect(quoteString('line\nnext\ttab\0nul')).toBe("'line\\nnext\\ttab\\0nul'");
  });

  it('keeps injection payloads inside one literal', () => {
    const payloads = ["' OR 1=1 --", "\\' OR 1=1 --", "x'); DROP TABLE t; --", "\\'; SELECT 1; --"];
    for (const p of payloads) {
      const text = sql`SELECT * FROM t WHERE customer = ${p}`.text;
      const lit = text.slice(text.indexOf("= ") + 2);
      // The literal must start and end with a quote and contain no unescaped quote.
      expect(lit.startsWith("'") && lit.endsWith("'")).toBe(true);
      const inner = lit.slice(1, -1);
      expect(/(^|[^\\])(\\\\)*'/.test(inner)).toBe(false);
    }
  });

  it('renders numbers, bigints, dates, arrays and null', () => {
    expect(literal(3)).toBe('3');
    expect(literal(12345678901234567890n)).toBe('12345678901234567890');
    expect(literal(null)).toBe('NULL');
    expect(literal(['a', 1])).toBe("['a', 1]");
    expect(literal(new Date('2026-01-31T10:00:00.000Z'))).toBe("toDateTime('2026-01-31 10:00:00', 'UTC')");
    expect(() => literal(Number.NaN)).toThrow();
  });

  it('renders IN lists of escaped literals', () => {
    expect(sql`x IN (${inList(["a'b", 'c'])})`.text).toBe("x IN ('a\\'b', 'c')");
    expect(sql`x IN (${inList([])})`.text).toBe('x IN (NULL)');
  });

  it('accepts only plain identifiers', () => {
    expect(ident('raw_usage_events_v1').text).toBe('`raw_usage_events_v1`');
    expect(() => ident('x`; DROP')).toThrow();
  });
});
