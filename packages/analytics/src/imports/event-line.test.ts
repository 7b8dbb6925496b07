import { describe, expect, it } from 'vitest';
import { splitCsvLine } from './csv.ts';
import { detectFormat, parseCsvLine, parseNdjsonLine } from './event-line.ts';

const NOW = Date.UTC(2026, 10, 26);

describe('import line parsing', () => {
  it('detects NDJSON, CSV and refuses anything else', () => {
    expect(detectFormat('{"customer":"c","feature":"f"}')).toEqual({ format: 'ndjson' });
    expect(detectFormat('id,customer,feature,value,timestamp')).toEqual({
      format: 'csv',
      header: ['id', 'customer', 'feature', 'value', 'timestamp'],
    });
    expect(detectFormat('%PDF-1.4')).toBeNull();
    expect(detectFormat('hello world')).toBeNull();
    expect(detectFormat('[1,2,3]')).toBeNull();
    expect(detectFormat('name,age')).toBeNull();
  });

  it('splits quoted CSV fields and rejects broken quoting', () => {
    expect(splitCsvLine('a,"b,c","say ""hi""",')).toEqual(['a', 'b,c', 'say "hi"', '']);
    expect(splitCsvLine('a,"open')).toBeNull();
    expect(splitCsvLine('a,b"c')).toBeNull();
  });

  it('reads an NDJSON event with exact micro amounts', () => {
    const r = parseNdjsonLine('{"id":"e1","customer":"c1","feature":"gpt4","value":0.1,"timestamp":"2026-10-01T10:00:05.900Z","properties":{"model":"x"}}', 3, NOW);
    expect(r).toEqual({
      ok: true,
      event: {
        line: 3,
        id: 'e1',
        customer: 'c1',
        feature: 'gpt4',
        valueMicro: 100_000n,
        timeSec: Date.UTC(2026, 9, 1, 10, 0, 5) / 1000,
        entity: '',
        properties: '{"model":"x"}',
      },
    });
  });

  it('rejects malformed lines with a reason', () => {
    expect(parseNdjsonLine('{"customer":', 1, NOW)).toEqual({ ok: false, reason: 'malformed JSON' });
    expect(parseNdjsonLine('{"feature":"f","timestamp":1}', 1, NOW)).toMatchObject({ ok: false, reason: 'customer is required' });
    expect(parseNdjsonLine('{"customer":"c","feature":"f","value":-1,"timestamp":"2026-01-01T00:00:00Z"}', 1, NOW)).toMatchObject({ ok: false });
    expect(parseNdjsonLine('{"customer":"c","feature":"f","value":0.0000001,"timestamp":"2026-01-01T00:00:00Z"}', 1, NOW)).toMatchObject({ ok: false });
    expect(parseNdjsonLine('{"customer":"c","feature":"f"}', 1, NOW)).toMatchObject({ ok: false, reason: expect.stringContaining('timestamp') });
    expect(parseNdjsonLine('{"customer":"c","feature":"f","timestamp":1700000000}', 1, NOW)).toMatchObject({ ok: false, reason: 'timestamp out of range' });
  });

  it('derives a stable id from the line when none is given', () => {
    const line = '{"customer":"c","feature":"f","timestamp":"2026-01-01T00:00:00Z"}';
    const a = parseNdjsonLine(line, 1, NOW);
    const b = parseNdjsonLine(line, 9, NOW);
    expect(a.ok && b.ok && a.event.id === b.event.id && a.event.id.startsWith('h_')).toBe(true);
  });

  it('reads CSV with property columns', () => {
    const header = ['id', 'customer', 'feature', 'value', 'timestamp', 'property.region'];
    const r = parseCsvLine('e2,c2,gpt4,2.5,1790000000000,eu', header, 2, NOW);
    expect(r).toMatchObject({ ok: true, event: { id: 'e2', valueMicro: 2_500_000n, properties: '{"region":"eu"}', timeSec: 1790000000 } });
    expect(parseCsvLine('e3,c2', header, 3, NOW)).toMatchObject({ ok: false, reason: 'expected 6 fields, got 2' });
  });
});

describe('import lines with text that cannot be stored', () => {
  const ts = '"timestamp":"2026-11-01T00:00:00Z"';
  it.each([
    [`{"customer":"c\\u0000","feature":"f",${ts}}`, 'customer: must not contain a NUL byte (\\u0000)'],
    [`{"customer":"c","feature":"f\\ud800",${ts}}`, 'feature: must not contain a lone UTF-16 surrogate'],
    [`{"id":"\\udc00","customer":"c","feature":"f",${ts}}`, 'id: must not contain a lone UTF-16 surrogate'],
    [`{"customer":"c","feature":"f","entity":"e\\u0000",${ts}}`, 'entity: must not contain a NUL byte (\\u0000)'],
    [`{"customer":"c","feature":"f","properties":{"a":{"b":["ok","\\ud83d"]}},${ts}}`, 'properties.a.b.1: must not contain a lone UTF-16 surrogate'],
    [`{"customer":"c","feature":"f","properties":{"k\\u0000":1},${ts}}`, 'properties."k\\u0000": a property name must not contain a NUL byte (\\u0000)'],
  ])('NDJSON %s is rejected naming the field', (line, reason) => {
    expect(parseNdjsonLine(line, 7, NOW)).toEqual({ ok: false, reason });
  });

  it('a CSV field with a raw NUL byte is rejected; well-formed pairs are kept', () => {
    const header = ['customer', 'feature', 'timestamp', 'property.note'];
    expect(parseCsvLine('c\u0000,f,1790000000000,x', header, 2, NOW)).toEqual({ ok: false, reason: 'customer: must not contain a NUL byte (\\u0000)' });
    expect(parseCsvLine('c,f,1790000000000,\ud83d\ude00', header, 3, NOW)).toMatchObject({ ok: true, event: { properties: '{"note":"\ud83d\ude00"}' } });
  });

  it('values above the live limit (9007199254) are rejected with the same rule', () => {
    expect(parseNdjsonLine(`{"customer":"c","feature":"f","value":9007199254,${ts}}`, 1, NOW)).toMatchObject({ ok: true, event: { valueMicro: 9_007_199_254_000_000n } });
    expect(parseNdjsonLine(`{"customer":"c","feature":"f","value":"9007199254.5",${ts}}`, 1, NOW)).toEqual({
      ok: false,
      reason: 'value: must have at most 6 decimal places and be at most 9007199254',
    });
  });
});

describe('the properties cap (8 KiB of JSON, the same as /v1/track)', () => {
  const ts = '"timestamp":"2026-11-01T00:00:00Z"';
  // {"p":"<text>"} is 8 bytes of JSON around the text
  const line = (text: string) => `{"customer":"c","feature":"f","properties":{"p":"${text}"},${ts}}`;
  const rule = 'properties must be at most 8192 bytes of JSON';

  it('keeps exactly 8192 bytes and rejects one more, counting UTF-8 bytes', () => {
    expect(parseNdjsonLine(line('x'.repeat(8184)), 1, NOW)).toMatchObject({ ok: true });
    expect(parseNdjsonLine(line('x'.repeat(8185)), 1, NOW)).toEqual({ ok: false, reason: rule });
    // é is 2 bytes: 4092 of them are 8184 bytes, 4093 are 8186
    expect(parseNdjsonLine(line('é'.repeat(4092)), 1, NOW)).toMatchObject({ ok: true });
    expect(parseNdjsonLine(line('é'.repeat(4093)), 1, NOW)).toEqual({ ok: false, reason: rule });
  });

  it('applies to CSV property columns too', () => {
    const header = ['customer', 'feature', 'timestamp', 'property.p'];
    expect(parseCsvLine(`c,f,1790000000000,${'x'.repeat(8184)}`, header, 2, NOW)).toMatchObject({ ok: true });
    expect(parseCsvLine(`c,f,1790000000000,${'x'.repeat(8185)}`, header, 2, NOW)).toEqual({ ok: false, reason: rule });
  });
});

describe('TabSeparated rows', () => {
  it('escapes what would break a field or a row', async () => {
    const { tsvRow } = await import('@tally/clickhouse');
    expect(tsvRow(['a\tb', 'line\nnext', 'back\\slash', 'nul\0', 12n, 3])).toBe('a\\tb\tline\\nnext\tback\\\\slash\tnul\\0\t12\t3');
  });
});
