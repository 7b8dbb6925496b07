import { z } from 'zod';

/** GET /v1/dead-letters: the tenant's rows ClickHouse refused, newest first. */
export const deadLettersQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  /** `nextCursor` of the previous page. */
  cursor: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a cursor is the nextCursor of a previous page').optional(),
  /** pending: not replayed yet; replayed: inserted again; all (default). */
  state: z.enum(['pending', 'replayed', 'all']).default('all'),
});
export type DeadLettersQuery = z.infer<typeof deadLettersQuerySchema>;

export const deadLetterParamsSchema = z.object({ id: z.uuid('a dead-letter id is a UUID') });

export const replayDeadLetterBodySchema = z.strictObject({
  /** Replace lone UTF-16 surrogates and NUL in the row's strings with U+FFFD before inserting. */
  repair: z.boolean().default(false),
});
export type ReplayDeadLetterBody = z.infer<typeof replayDeadLetterBodySchema>;

export const deadLetterViewSchema = z.object({
  id: z.string(),
  /** The ClickHouse table the row was written to, e.g. raw_usage_events_v1. */
  table: z.string(),
  /** The row as JSON text (JSON.stringify: lone surrogates and NUL escaped). */
  row: z.string(),
  /** Why ClickHouse refused it, e.g. "CANNOT_PARSE_ESCAPE_SEQUENCE (25): …". */
  reason: z.string(),
  /** Replay attempts so far, and why the last failed one failed. */
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  replayedAt: z.string().nullable(),
});
export type DeadLetterView = z.infer<typeof deadLetterViewSchema>;

export const deadLetterPageSchema = z.object({
  success: z.literal(true),
  deadLetters: z.array(deadLetterViewSchema),
  hasMore: z.boolean(),
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: z.string().nullable(),
});
export type DeadLetterPage = z.infer<typeof deadLetterPageSchema>;

export const replayDeadLetterResultSchema = z.object({
  success: z.literal(true),
  /** Whether the row was repaired before it was inserted. */
  repaired: z.boolean(),
  deadLetter: deadLetterViewSchema,
});
export type ReplayDeadLetterResult = z.infer<typeof replayDeadLetterResultSchema>;
