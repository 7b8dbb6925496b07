import { z } from 'zod';

/**
 * Cursor pagination shared by every list that can grow. A cursor is opaque to
 * clients: base64url of the JSON key of the last row answered (the keyset the
 * list orders by). A list fetches `limit + 1` rows after the key; the extra row
 * only tells whether there is a next page.
 */
export const PAGE_LIMIT_MAX = 100;

/**
 * A row's created_at in a cursor, with Postgres's microseconds (a JS Date would drop them and
 * rows sharing a millisecond would be skipped or repeated).
 */
export const createdKeySchema = z
  .string()
  .regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
  // a real instant Postgres takes (no 30 February, which Date rolls over; no year 0): else its refusal would be a 500
  .refine((t) => {
    if (t.startsWith('0000')) return false;
    const ms = Date.parse(`${t.slice(0, 23)}Z`);
    return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 23) === t.slice(0, 23);
  });

export const encodeCursor = (key: unknown): string => Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');

const CURSOR_MESSAGE = 'not a cursor this list answered (pass nextCursor unchanged)';

/** A `cursor` query parameter whose decoded key must match `key`; anything else is a 400 naming `cursor`. */
export function cursorSchema<K extends z.ZodType>(key: K) {
  return z
    .string()
    .max(2048)
    .transform((text, ctx): z.infer<K> => {
      let parsed: unknown;
      try {
        if (!/^[A-Za-z0-9_-]+$/.test(text)) throw new Error('not base64url');
        parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
      } catch {
        ctx.addIssue({ code: 'custom', message: CURSOR_MESSAGE });
        return z.NEVER;
      }
      const r = key.safeParse(parsed);
      if (!r.success) {
        ctx.addIssue({ code: 'custom', message: CURSOR_MESSAGE });
        return z.NEVER;
      }
      return r.data;
    });
}

/** `limit` (1..max, default `def`) and `cursor` (decoded with `key`) for a list's query schema. */
export function pageQueryShape<K extends z.ZodType>(key: K, def = 20, max = PAGE_LIMIT_MAX) {
  return {
    limit: z.coerce.number().int().min(1).max(max).default(def),
    cursor: cursorSchema(key).optional(),
  };
}

/** The answer of a paginated list. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ success: z.literal(true), data: z.array(item), hasMore: z.boolean(), nextCursor: z.string().nullable() });
}

export interface Page<T> {
  data: T[];
  hasMore: boolean;
  nextCursor: string | null;
}

/** Cuts `limit + 1` fetched rows to a page; the cursor is the key of the last row kept. */
export function toPage<R, T = R>(rows: R[], limit: number, keyOf: (row: R) => unknown, view: (row: R) => T = (r) => r as unknown as T): Page<T> {
  const hasMore = rows.length > limit;
  const kept = hasMore ? rows.slice(0, limit) : rows;
  return { data: kept.map(view), hasMore, nextCursor: hasMore ? encodeCursor(keyOf(kept[kept.length - 1]!)) : null };
}
