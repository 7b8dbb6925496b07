/**
 * A cell a spreadsheet would evaluate as a formula when the file is opened:
 * OWASP's list (= + - @, tab, carriage return), line feed, and the full-width
 * forms some spreadsheets also read as operators.
 */
const FORMULA_START = /^[=+\-@\t\r\n\uFF1D\uFF0B\uFF0D\uFF20]/;

/**
 * One cell of a CSV export: a formula-looking cell gets a leading single
 * quote (OWASP "CSV Injection"), line breaks become spaces (one record per
 * line), and the cell is quoted with inner quotes doubled (RFC 4180).
 */
export function csvCell(value: string): string {
  const neutral = FORMULA_START.test(value) ? `'${value}` : value;
  return `"${neutral.replace(/\r\n|[\r\n]/g, ' ').replaceAll('"', '""')}"`;
}

/** One CSV record of cells, ending in a newline. */
export const csvRecord = (cells: readonly (string | number)[]): string =>
  `${cells.map((c) => (typeof c === 'number' ? String(c) : csvCell(c))).join(',')}\n`;
