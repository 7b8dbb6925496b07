import { z } from 'zod';
import { opsEnv, parseConfig, sharedEnv } from '@tally/runtime';
import { DEFAULT_SPOOL_LIMITS, analyticsEnv } from '@tally/analytics';
import { paymentsEnv, paymentsEnvRules } from '@tally/payments';
import { renewalsEnv, credentialsEnv, credentialsEnvRules, webhookTargetsEnv, webhookTargetsRules } from '@tally/billing';

const apiEnv = sharedEnv.extend({
  API_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  API_HOST: z.string().default('127.0.0.1'),
  /**
   * API processes sharing API_PORT (node:cluster): a number, or `auto` for one per core. Default `auto`
   * when NODE_ENV=production, else 1 (tests and the simulator start several single-process APIs).
   */
  API_PROCESSES: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(256)]).optional(),
  /** Public base URL, used in links Tally hands out (checkout pages, webhooks). */
  PUBLIC_URL: z.url().optional(),
  /** Kafka client producing usage events on /v1/track and /v1/check (see BENCHMARKS.md). */
  KAFKA_PRODUCER_CLIENT: z.enum(['kafkajs', 'platformatic']).default('kafkajs'),
  /** Secret for admin routes (tenant creation); admin routes are off when unset. */
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Bytes one import upload may hold once decompressed (413 past it); default 2 GiB. */
  IMPORT_MAX_BYTES: z.coerce.number().int().positive().default(DEFAULT_SPOOL_LIMITS.maxBytes),
  /** Decompressed bytes per compressed byte of a gzip upload, checked past 1 MiB (413 past it); default 100. */
  IMPORT_MAX_COMPRESSION_RATIO: z.coerce.number().min(1).default(DEFAULT_SPOOL_LIMITS.maxRatio),
  /** Bytes on disk across one tenant's unfinished imports (413 past it); default 10 GiB. */
  IMPORT_TENANT_SPOOL_QUOTA_BYTES: z.coerce.number().int().positive().default(DEFAULT_SPOOL_LIMITS.tenantQuotaBytes),
  /** Refused API keys per client address and minute, across API processes (429 past it); 0 = no limit. */
  AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(0).default(20),
  /** Customers one tenant may create per minute through track/check (customer_rate_limited past it); 0 = no limit. */
  CUSTOMERS_PER_MINUTE: z.coerce.number().int().min(0).default(1000),
  /** Usage events per second one tenant may send (track + batch; a batch counts its events), across API processes; 0 = no limit. */
  RATE_LIMIT_INGEST_EVENTS_PER_SECOND: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  /** `POST /v1/check` requests per second per tenant; 0 = no limit. */
  RATE_LIMIT_CHECK_PER_SECOND: z.coerce.number().int().min(0).max(1_000_000).default(2_000),
  /** Every other authenticated request per second per tenant; 0 = no limit. */
  RATE_LIMIT_OTHER_PER_SECOND: z.coerce.number().int().min(0).max(1_000_000).default(200),
  /** Burst: a tenant may spend this many seconds of its rate at once (capacity = rate × this); at least 1. */
  RATE_LIMIT_BURST_SECONDS: z.coerce.number().int().min(1).max(3600).default(2),
  /** Budget of a track / track batch answer: every dependency wait within it, 503 past it (docs/operations.md "Budgets"). */
  REQUEST_BUDGET_INGEST_MS: z.coerce.number().int().min(100).max(120_000).default(5_000),
  /** Budget of a `POST /v1/check` answer (the strict path's publish included). */
  REQUEST_BUDGET_CHECK_MS: z.coerce.number().int().min(100).max(120_000).default(5_000),
  /** Budget of every other `/v1` answer (not `POST /v1/imports` nor `POST /v1/usage/repair`, nor a stream once it started). */
  REQUEST_BUDGET_OTHER_MS: z.coerce.number().int().min(100).max(120_000).default(15_000),
  /** How long a dashboard session lasts from sign-in (docs/dashboard.md); default 8 h. */
  DASHBOARD_SESSION_TTL_SECONDS: z.coerce.number().int().min(60).max(30 * 86_400).default(28_800),
  /** The dashboard build served at /dashboard; default apps/dashboard/dist. */
  DASHBOARD_DIST_DIR: z.string().min(1).optional(),
}).extend(paymentsEnv.shape).extend(webhookTargetsEnv.shape).extend(credentialsEnv.shape).extend(renewalsEnv.shape).extend(analyticsEnv.shape).extend(opsEnv.shape).superRefine((env, ctx) => {
  paymentsEnvRules(env, ctx);
  webhookTargetsRules(env, ctx);
  credentialsEnvRules(env, ctx);
});

export type ApiConfig = z.infer<typeof apiEnv> & { publicUrl: string };

export function loadApiConfig(env: Record<string, string | undefined> = process.env): ApiConfig {
  const parsed = parseConfig(apiEnv, env);
  return { ...parsed, publicUrl: parsed.PUBLIC_URL ?? `http://${parsed.API_HOST}:${parsed.API_PORT}` };
}
