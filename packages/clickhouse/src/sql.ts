/**
 * The one audited place where values become ClickHouse SQL text.
 *
 * ClickHouse 18.16 has no server-side query parameters, so every value that
 * reaches a query is rendered here as a literal: strings are single-quoted
 * with backslash, quote and control characters escaped; numbers must be
 * finite; identifiers must match a plain pattern and are back-quoted. Build
 * queries with the `sql` tag; never concatenate strings into a query.
 */
export type SqlValue = string | number | bigint | boolean | Date | null | readonly SqlValue[];

export class Sql {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

export function quoteString(value: string): string {
  return `'${value.replace(/[\\'\0\b\f\n\r\t]/g, (c) => ESCAPES[c] ?? c)}'`;
}

/** ClickHouse DateTime literal (UTC, second precision). */
export function formatDateTime(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new TypeError('invalid date');
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

export function literal(value: SqlValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'string') return quoteString(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`not a finite number: ${value}`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (value instanceof Date) return `toDateTime(${quoteString(formatDateTime(value))}, 'UTC')`;
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  throw new TypeError(`unsupported SQL value: ${typeof value}`);
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A table or column name; only plain identifiers are allowed. */
export function ident(name: string): Sql {
  if (!IDENTIFIER.test(name)) throw new TypeError(`not a plain identifier: ${JSON.stringify(name)}`);
  return new Sql(`\`${name}\``);
}

/** Comma-separated literals for `x IN (${inList(values)})` (an empty list matches nothing). */
export function inList(values: readonly SqlValue[]): Sql {
  return new Sql(values.length ? values.map(literal).join(', ') : 'NULL');
}

/** SQL text trusted as written (fragments built by this module or constants in code). */
export const raw = (text: string) => new Sql(text);

/** Joins fragments with a separator, e.g. for WHERE clauses. */
export function join(parts: readonly Sql[], separator = ', '): Sql {
  return new Sql(parts.map((p) => p.text).join(separator));
}

/** Tagged template: interpolated Sql fragments are inserted as is, everything else as a literal. */
export function sql(strings: TemplateStringsArray, ...values: (SqlValue | Sql)[]): Sql {
  let text = strings[0] ?? '';
  values.forEach((value, i) => {
    text += value instanceof Sql ? value.text : literal(value);
    text += strings[i + 1] ?? '';
  });
  return new Sql(text);
}
