import { DependencyUnavailableError } from '@tally/runtime';

/**
 * ClickHouse exception codes that mean "this data cannot go into these
 * columns": the same rows fail the same way on every retry. Anything else
 * (unreachable server, timeouts, too many parts, memory, a missing table) is
 * about the moment or the schema and stays retryable.
 */
export const DATA_ERROR_CODES: ReadonlyMap<number, string> = new Map([
  [6, 'CANNOT_PARSE_TEXT'],
  [25, 'CANNOT_PARSE_ESCAPE_SEQUENCE'],
  [26, 'CANNOT_PARSE_QUOTED_STRING'],
  [27, 'CANNOT_PARSE_INPUT_ASSERTION_FAILED'],
  [33, 'CANNOT_READ_ALL_DATA'],
  [38, 'CANNOT_PARSE_DATE'],
  [41, 'CANNOT_PARSE_DATETIME'],
  [53, 'TYPE_MISMATCH'],
  [69, 'ARGUMENT_OUT_OF_BOUND'],
  [70, 'CANNOT_CONVERT_TYPE'],
  [72, 'CANNOT_PARSE_NUMBER'],
  [117, 'INCORRECT_DATA'],
  [131, 'TOO_LARGE_STRING_SIZE'],
  [321, 'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE'],
  [349, 'CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN'],
  [376, 'CANNOT_PARSE_UUID'],
  [407, 'DECIMAL_OVERFLOW'],
  [467, 'CANNOT_PARSE_BOOL'],
]);

const DATA_ERROR_NAMES = new Set(DATA_ERROR_CODES.values());
const CODE_IN_MESSAGE = /\bCode: (\d+)/;

/**
 * The server's exception code of a failed request, or null when the request
 * did not get a ClickHouse exception back. Newer servers end the message with
 * "(TYPE)" and the client parses `code`; 18.16 answers
 * "Code: 25, e.displayText() = DB::Exception: …", which the client leaves
 * unparsed, so the message is read too.
 */
export function clickhouseErrorCode(err: unknown): number | null {
  if (err instanceof DependencyUnavailableError) return null;
  const e = err as { code?: unknown; message?: unknown } | null;
  if (typeof e?.code === 'string' && /^\d+$/.test(e.code)) return Number(e.code);
  const m = typeof e?.message === 'string' ? CODE_IN_MESSAGE.exec(e.message) : null;
  return m ? Number(m[1]) : null;
}

/** True when ClickHouse refused the rows for their content (retrying the same rows cannot help). */
export function isRefusedData(err: unknown): boolean {
  const code = clickhouseErrorCode(err);
  if (code !== null) return DATA_ERROR_CODES.has(code);
  const type = (err as { type?: unknown } | null)?.type;
  return typeof type === 'string' && DATA_ERROR_NAMES.has(type);
}

const MAX_REASON = 1000;

/**
 * A one-line reason for a refused row: "NAME (code): message", without the
 * 18.16 wrapper ("e.displayText() = DB::Exception:", ", e.what() = …").
 * NUL bytes and lone surrogates are replaced so the reason fits a text column.
 */
export function refusalReason(err: unknown): string {
  const code = clickhouseErrorCode(err);
  const raw = err instanceof Error ? err.message : String(err);
  const message = raw
    .replace(/^Code: \d+,\s*/, '')
    .replace(/^e\.displayText\(\) = /, '')
    .replace(/^DB::Exception: /, '')
    .replace(/,?\s*e\.what\(\) = DB::Exception\s*$/, '')
    .replace(/\s+/g, ' ')
    .trim();
  const name = code === null ? null : DATA_ERROR_CODES.get(code) ?? null;
  const prefix = code === null ? '' : `${name ?? 'Code'} (${code}): `;
  return toWellFormedText(`${prefix}${message}`).slice(0, MAX_REASON);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Replaces lone UTF-16 surrogates and NUL with U+FFFD (what neither ClickHouse's JSON parser nor a Postgres text column takes). */
export function toWellFormedText(s: string): string {
  return s.replace(LONE_SURROGATE, '\uFFFD').replaceAll('\u0000', '\uFFFD');
}
