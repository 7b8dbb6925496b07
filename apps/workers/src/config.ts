import { z } from 'zod';
import { opsEnv, parseConfig, sharedEnv } from '@tally/runtime';
import { analyticsEnv } from '@tally/analytics';
import { paymentsEnv, paymentsEnvRules } from '@tally/payments';
import { periodicEnv } from './schedules.ts';
import { renewalsEnv, credentialsEnv, credentialsEnvRules, webhookTargetsEnv, webhookTargetsRules } from '@tally/billing';

const workersEnv = sharedEnv.extend({
  WORKERS_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  WORKERS_HOST: z.string().default('127.0.0.1'),
  KAFKA_CONSUMER_GROUP: z.string().default('tally-metering'),
  /** Jobs each BullMQ worker runs at once. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(4),
  /** Fair share: a tenant with more events than this in one fetched batch of a partition goes to the deferred lane (0: off). */
  FAIR_SHARE_EVENTS: z.coerce.number().int().min(0).max(1_000_000).default(1000),
  /** Public base URL of the API (links in checkout flows and webhooks). */
  PUBLIC_URL: z.url().default('http://127.0.0.1:3000'),
}).extend(paymentsEnv.shape).extend(webhookTargetsEnv.shape).extend(credentialsEnv.shape).extend(renewalsEnv.shape).extend(analyticsEnv.shape).extend(opsEnv.shape).extend(periodicEnv.shape).superRefine((env, ctx) => {
  paymentsEnvRules(env, ctx);
  webhookTargetsRules(env, ctx);
  credentialsEnvRules(env, ctx);
});

export type WorkersConfig = z.infer<typeof workersEnv>;

export const loadWorkersConfig = (env: Record<string, string | undefined> = process.env): WorkersConfig =>
  parseConfig(workersEnv, env);
