import { describe, expect, it } from 'vitest';
import { splitCsvLine } from './csv.ts';
import { csvCell, csvRecord } from './csv-export.ts';

/** What a spreadsheet would see in the cell: the field read back by an RFC 4180 reader. */
const readBack = (cell: string) => splitCsvLine(cell)![0]!;

describe('CSV export cells', () => {
  it.each(['=HYPERLINK("http://evil.example","x")', '+1+1', '-2+3', '@SUM(A1)', '\t=1', '\r=1', '\n=1', '\uFF1D1+1'])(
    'neutralises %j with a leading single quote',
    (value) => {
      const cell = readBack(csvCell(value));
      expect(cell.startsWith("'")).toBe(true);
      // nothing but the quote is added; line breaks are flattened to spaces
      expect(cell.slice(1)).toBe(value.replace(/[\r\n]/g, ' '));
    },
  );

  it('leaves ordinary text as it is, quoted', () => {
    expect(csvCell('malformed JSON')).toBe('"malformed JSON"');
    expect(readBack(csvCell('a "quoted", comma'))).toBe('a "quoted", comma');
    expect(readBack(csvCell(' =1'))).toBe(' =1');
    expect(readBack(csvCell('x=1'))).toBe('x=1');
  });

  it('keeps one record per line and numbers bare', () => {
    const record = csvRecord([7, 'line\r\nbreak', '=cmd|"/c calc"!A1']);
    expect(record.split('\n')).toHaveLength(2);
    expect(splitCsvLine(record.slice(0, -1))).toEqual(['7', 'line break', `'=cmd|"/c calc"!A1`]);
  });
});
