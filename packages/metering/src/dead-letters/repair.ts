import { toWellFormedText } from '@tally/clickhouse';

/**
 * A copy of a parsed row whose strings (values and keys, at any depth) have
 * lone UTF-16 surrogates and NUL replaced with U+FFFD; other values as they were.
 */
export function repairRow(value: unknown): unknown {
  if (typeof value === 'string') return toWellFormedText(value);
  if (Array.isArray(value)) return value.map(repairRow);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [toWellFormedText(k), repairRow(v)]));
  }
  return value;
}
