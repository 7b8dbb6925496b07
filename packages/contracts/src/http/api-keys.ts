import { z } from 'zod';
import { pageQueryShape, pageSchema } from '../pagination.ts';
import { newestFirstKeySchema } from './operator-lists.ts';

/** A secret API key as its tenant sees it: never the secret (shown once, at creation) nor its digest. */
export const apiKeyViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  /** The first 12 characters of the secret (`sk_test_AbCd`), to tell keys apart. */
  prefix: z.string(),
  environment: z.enum(['test', 'live']),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  /** A rotated key: when it stops working (the end of its overlap window). */
  expiresAt: z.string().nullable(),
  /** The tenant (organisation × environment) the key opens. */
  tenantId: z.string(),
  /** True for the key that made this call. */
  current: z.boolean(),
});
export type ApiKeyView = z.infer<typeof apiKeyViewSchema>;

/**
 * GET /v1/api-keys: revoked and rotated keys stay listed, so the list grows with every rotation; newest first in
 * cursor pages (default limit 100).
 */
export const apiKeyListQuerySchema = z.strictObject({ ...pageQueryShape(newestFirstKeySchema, 100) });
export const apiKeyListSchema = pageSchema(apiKeyViewSchema).extend({
  apiKeys: z.array(apiKeyViewSchema).describe('deprecated: the same rows as data (the field of the list before it had pages)'),
});
export type ApiKeyList = z.infer<typeof apiKeyListSchema>;

/** POST /v1/api-keys: a new key of the calling tenant (same environment). */
export const createApiKeyBodySchema = z.strictObject({
  name: z.string().trim().min(1).max(100).default('default'),
});
export type CreateApiKeyBody = z.infer<typeof createApiKeyBodySchema>;

export const createdApiKeySchema = z.object({
  success: z.literal(true),
  apiKey: apiKeyViewSchema.extend({ secret: z.string() }),
});
export type CreatedApiKey = z.infer<typeof createdApiKeySchema>;

export const apiKeyParamsSchema = z.object({ id: z.uuid('an API key id is a UUID') });

export const revokedApiKeySchema = z.object({ success: z.literal(true), apiKey: apiKeyViewSchema });
export type RevokedApiKey = z.infer<typeof revokedApiKeySchema>;

/** POST /v1/api-keys/:id/rotate: how long the old key keeps working (0: revoked at once; default one hour, at most 7 days). */
export const rotateApiKeyBodySchema = z.strictObject({
  overlapSeconds: z.number().int().min(0).max(7 * 86_400).default(3600),
});
export type RotateApiKeyBody = z.input<typeof rotateApiKeyBodySchema>;

export const rotatedApiKeySchema = z.object({
  success: z.literal(true),
  /** The old key, with its expiresAt (or revokedAt when the overlap was 0). */
  rotated: apiKeyViewSchema,
  /** The new key; its secret is in this answer only. */
  apiKey: apiKeyViewSchema.extend({ secret: z.string() }),
});
export type RotatedApiKey = z.infer<typeof rotatedApiKeySchema>;
