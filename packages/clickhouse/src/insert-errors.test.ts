import { describe, expect, it } from 'vitest';
import { ClickHouseError } from '@clickhouse/client';
import { DependencyUnavailableError } from '@tally/runtime';
import { clickhouseErrorCode, isRefusedData, refusalReason, toWellFormedText } from './insert-errors.ts';

// Messages as ClickHouse 18.16 answers them (the client leaves them unparsed: no "(TYPE)" suffix).
const surrogate = new Error(
  'Code: 25, e.displayText() = DB::Exception: Cannot parse escape sequence: missing second part of surrogate pair: (while read the value of key customer_id), e.what() = DB::Exception\n',
);
const badDate = new Error('Code: 27, e.displayText() = DB::Exception: Cannot parse input: expected " before: }\n: (while read the value of key event_time): (at row 3)\n, e.what() = DB::Exception\n');
const tooManyParts = new Error('Code: 252, e.displayText() = DB::Exception: Too many parts (300). Merges are processing significantly slower than inserts., e.what() = DB::Exception');
const unknownTable = new Error("Code: 60, e.displayText() = DB::Exception: Table tally.nope doesn't exist., e.what() = DB::Exception");

describe('which insert errors are about the data', () => {
  it('reads the code from an 18.16 message and from a parsed ClickHouseError', () => {
    expect(clickhouseErrorCode(surrogate)).toBe(25);
    expect(clickhouseErrorCode(badDate)).toBe(27);
    expect(clickhouseErrorCode(new ClickHouseError({ message: 'Cannot parse input', code: '27', type: 'CANNOT_PARSE_INPUT_ASSERTION_FAILED' }))).toBe(27);
    expect(clickhouseErrorCode(new Error('socket hang up'))).toBeNull();
  });

  it('parse and type errors are refused data; the server being busy, down or misconfigured is not', () => {
    expect(isRefusedData(surrogate)).toBe(true);
    expect(isRefusedData(badDate)).toBe(true);
    expect(isRefusedData(new Error('Code: 117, e.displayText() = DB::Exception: Unknown field found while parsing JSONEachRow format: zz'))).toBe(true);
    expect(isRefusedData(new ClickHouseError({ message: 'x', code: '41', type: 'CANNOT_PARSE_DATETIME' }))).toBe(true);
    expect(isRefusedData(tooManyParts)).toBe(false);
    expect(isRefusedData(unknownTable)).toBe(false);
    expect(isRefusedData(new ClickHouseError({ message: 'Timeout exceeded', code: '159', type: 'TIMEOUT_EXCEEDED' }))).toBe(false);
    expect(isRefusedData(new DependencyUnavailableError('clickhouse', surrogate))).toBe(false);
    expect(isRefusedData(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(isRefusedData(null)).toBe(false);
  });

  it('a reason is one line: name, code and the server message without the 18.16 wrapper', () => {
    expect(refusalReason(surrogate)).toBe(
      'CANNOT_PARSE_ESCAPE_SEQUENCE (25): Cannot parse escape sequence: missing second part of surrogate pair: (while read the value of key customer_id)',
    );
    expect(refusalReason(badDate)).toBe('CANNOT_PARSE_INPUT_ASSERTION_FAILED (27): Cannot parse input: expected " before: } : (while read the value of key event_time): (at row 3)');
    expect(refusalReason(new Error('bad \u0000 \ud800'))).toBe('bad \uFFFD \uFFFD');
    expect(refusalReason(new Error('x'.repeat(5000)))).toHaveLength(1000);
  });

  it('toWellFormedText replaces lone surrogates and NUL, and keeps pairs', () => {
    expect(toWellFormedText('a\ud800b\udc00c\u0000')).toBe('a\uFFFDb\uFFFDc\uFFFD');
    expect(toWellFormedText('emoji 😀 ok')).toBe('emoji 😀 ok');
    expect(toWellFormedText('\udc00\ud800')).toBe('\uFFFD\uFFFD');
  });
});
