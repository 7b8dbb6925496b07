import { z } from 'zod';

export const IMPORT_MODES = ['report', 'apply'] as const;
export const IMPORT_STATES = ['uploading', 'queued', 'running', 'completed', 'failed', 'cancelled', 'reverting', 'reverted'] as const;
export type ImportMode = (typeof IMPORT_MODES)[number];
export type ImportState = (typeof IMPORT_STATES)[number];

/**
 * POST /v1/imports: the body is the file itself (NDJSON or CSV, streamed),
 * gzip when `Content-Encoding: gzip` or `?compression=gzip`.
 */
export const createImportQuerySchema = z.object({
  mode: z.enum(IMPORT_MODES).default('report'),
  compression: z.enum(['none', 'gzip']).optional(),
  /** Lines per chunk (the unit of work, progress and resume); default 100,000. */
  chunkLines: z.coerce.number().int().min(10).max(1_000_000).optional(),
});
export type CreateImportQuery = z.infer<typeof createImportQuerySchema>;

export const importIdParamsSchema = z.object({ id: z.uuid() });

export const importStatusSchema = z.object({
  success: z.literal(true),
  id: z.string(),
  mode: z.enum(IMPORT_MODES),
  format: z.enum(['ndjson', 'csv']),
  state: z.enum(IMPORT_STATES),
  bytes: z.number(),
  chunksTotal: z.number().nullable(),
  chunksDone: z.number(),
  rowsRead: z.number(),
  accepted: z.number(),
  duplicates: z.number(),
  rejected: z.number(),
  /** Kept in report mode but flagged: unknown customer or feature. */
  flagged: z.number(),
  /** Rows read per second since processing started. */
  rate: z.number(),
  error: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  revertedAt: z.string().nullable(),
});
export type ImportStatus = z.infer<typeof importStatusSchema>;

export const rejectedQuerySchema = z.object({
  format: z.enum(['ndjson', 'csv']).default('ndjson'),
  kind: z.enum(['rejected', 'flagged']).default('rejected'),
});

/** One line of GET /v1/imports/:id/rejected. */
export const rejectedRowSchema = z.object({ line: z.number(), reason: z.string(), content: z.string() });
export type RejectedRow = z.infer<typeof rejectedRowSchema>;

/** Queue payload of the "import" BullMQ queue (new fields optional: jobs survive a rolling deploy). */
export const importJobSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('chunk'), importId: z.uuid(), tenantId: z.string(), chunk: z.number().int().min(0) }),
  z.object({ kind: z.literal('revert'), importId: z.uuid(), tenantId: z.string() }),
]);
export type ImportJob = z.infer<typeof importJobSchema>;
