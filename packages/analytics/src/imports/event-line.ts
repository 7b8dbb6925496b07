import { createHash } from 'node:crypto';
import { MICRO, toMicro } from '@tally/core';
import { AMOUNT_RULE, MAX_AMOUNT, PROPERTIES_RULE, findUnstorableText, propertiesJsonTooLarge } from '@tally/contracts';
import { splitCsvLine } from './csv.ts';

export type ImportFormat = 'ndjson' | 'csv';

/** One usage event read from an import file, amounts already exact. */
export interface ImportEvent {
  line: number;
  id: string;
  customer: string;
  feature: string;
  valueMicro: bigint;
  /** Unix seconds (ClickHouse DateTime precision). */
  timeSec: number;
  entity: string;
  /** JSON object text, '{}' when absent. */
  properties: string;
}

export type LineResult = { ok: true; event: ImportEvent } | { ok: false; reason: string };

const CSV_COLUMNS = new Set(['id', 'customer', 'feature', 'value', 'timestamp', 'entity', 'properties']);
const PROPERTY_COLUMN = /^(?:properties|property)\.(.+)$/;
const MAX_ID = 256;
const MAX_VALUE_MICRO = BigInt(MAX_AMOUNT) * MICRO;
// Events before 2000 or more than a day in the future are almost certainly unit mistakes (seconds vs ms).
const MIN_TIME_MS = Date.UTC(2000, 0, 1);
const FUTURE_SLACK_MS = 24 * 3600 * 1000;

/**
 * Decides the file's format from its first non-empty line: a JSON object is
 * NDJSON, a CSV header naming at least `customer` and `feature` is CSV.
 * Anything else means the file is neither, and the import is refused at once.
 */
export function detectFormat(firstLine: string): { format: ImportFormat; header?: string[] } | null {
  const text = firstLine.replace(/^\uFEFF/, '').trim();
  if (text.startsWith('{')) {
    try {
      const value: unknown = JSON.parse(text);
      return value && typeof value === 'object' && !Array.isArray(value) ? { format: 'ndjson' } : null;
    } catch {
      // The first line of an NDJSON file may itself be malformed; one bad line is not a bad file
      // as long as it looks like an attempt at an object.
      return text.endsWith('}') ? { format: 'ndjson' } : null;
    }
  }
  const header = splitCsvLine(text)?.map((h) => h.trim());
  if (!header || !header.includes('customer') || !header.includes('feature')) return null;
  if (!header.every((h) => CSV_COLUMNS.has(h) || PROPERTY_COLUMN.test(h))) return null;
  return { format: 'csv', header };
}

export function parseNdjsonLine(text: string, line: number, nowMs: number): LineResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'malformed JSON' };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { ok: false, reason: 'not a JSON object' };
  return toEvent(value as Record<string, unknown>, line, nowMs, text);
}

export function parseCsvLine(text: string, header: readonly string[], line: number, nowMs: number): LineResult {
  const fields = splitCsvLine(text);
  if (!fields) return { ok: false, reason: 'malformed CSV' };
  if (fields.length !== header.length) return { ok: false, reason: `expected ${header.length} fields, got ${fields.length}` };
  const record: Record<string, unknown> = {};
  let properties: Record<string, unknown> | undefined;
  header.forEach((name, i) => {
    const field = fields[i] ?? '';
    const prop = PROPERTY_COLUMN.exec(name);
    if (prop) {
      if (field !== '') (properties ??= {})[prop[1]!] = field;
    } else if (field !== '') record[name] = name === 'value' || name === 'timestamp' ? numericOrText(field) : field;
  });
  if (typeof record.properties === 'string') {
    try {
      record.properties = JSON.parse(record.properties);
    } catch {
      return { ok: false, reason: 'properties is not valid JSON' };
    }
  }
  if (properties) record.properties = { ...((record.properties as object | undefined) ?? {}), ...properties };
  return toEvent(record, line, nowMs, text);
}

const numericOrText = (field: string): number | string => (/^\d+(\.\d+)?$/.test(field) && field.length < 16 ? Number(field) : field);

function toEvent(record: Record<string, unknown>, line: number, nowMs: number, text: string): LineResult {
  const { customer, feature, entity, properties } = record;
  if (typeof customer !== 'string' || customer === '') return { ok: false, reason: 'customer is required' };
  if (typeof feature !== 'string' || feature === '') return { ok: false, reason: 'feature is required' };
  if (customer.length > MAX_ID || feature.length > MAX_ID) return { ok: false, reason: 'customer or feature too long' };
  let valueMicro = 1_000_000n;
  if (record.value !== undefined) {
    if (typeof record.value !== 'number' && typeof record.value !== 'string') return { ok: false, reason: 'value must be a number' };
    try {
      valueMicro = toMicro(record.value);
    } catch (err) {
      return { ok: false, reason: `value: ${(err as Error).message}` };
    }
    // the same limit as live events (amountSchema), so a file and the API agree on what is too large
    if (valueMicro > MAX_VALUE_MICRO) return { ok: false, reason: `value: ${AMOUNT_RULE}` };
  }
  const timeMs = parseTimestamp(record.timestamp);
  if (timeMs === null) return { ok: false, reason: 'timestamp is required (ISO 8601 or epoch milliseconds)' };
  if (timeMs < MIN_TIME_MS || timeMs > nowMs + FUTURE_SLACK_MS) return { ok: false, reason: 'timestamp out of range' };
  if (entity !== undefined && typeof entity !== 'string') return { ok: false, reason: 'entity must be a string' };
  if (properties !== undefined && (properties === null || typeof properties !== 'object' || Array.isArray(properties))) {
    return { ok: false, reason: 'properties must be an object' };
  }
  // the same cap as /v1/track and /v1/check: a file cannot store what the API would refuse
  const propertiesJson = properties ? JSON.stringify(properties) : '{}';
  if (propertiesJsonTooLarge(propertiesJson)) return { ok: false, reason: PROPERTIES_RULE };
  let id = record.id;
  if (id === undefined || id === '') {
    // No id: derive one from the content, so re-importing the same file still adds nothing.
    id = `h_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
  }
  if (typeof id !== 'string' || id.length > MAX_ID) return { ok: false, reason: 'id must be a string of at most 256 characters' };
  // Text Postgres and ClickHouse keep as is, the same rule as /v1/track (no NUL, no lone surrogate).
  const unstorable = findUnstorableText({ id, customer, feature, entity, properties });
  if (unstorable) return { ok: false, reason: `${unstorable.path.join('.')}: ${unstorable.message}` };
  return {
    ok: true,
    event: {
      line,
      id,
      customer,
      feature,
      valueMicro,
      timeSec: Math.floor(timeMs / 1000),
      entity: (entity as string | undefined) ?? '',
      properties: propertiesJson,
    },
  };
}

function parseTimestamp(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string' || value === '') return null;
  if (/^\d+$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}
