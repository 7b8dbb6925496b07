const TSV_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };

/** One TabSeparated field: backslash, tab, newline, carriage return and NUL escaped as ClickHouse reads them. */
export const tsvField = (value: string | number | bigint): string =>
  typeof value === 'string' ? value.replace(/[\\\t\n\r\0]/g, (c) => TSV_ESCAPES[c] ?? c) : value.toString();

export const tsvRow = (values: readonly (string | number | bigint)[]): string => values.map(tsvField).join('\t');

/** One JSONEachRow line; bigint values are written as JSON numbers without going through a float. */
export function jsonRow(row: Record<string, string | number | bigint>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(row)) {
    parts.push(`${JSON.stringify(key)}:${typeof value === 'bigint' ? value.toString() : JSON.stringify(value)}`);
  }
  return `{${parts.join(',')}}`;
}
