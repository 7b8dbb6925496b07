import type { Job } from 'bullmq';
import { webhookDeliveryJobSchema, type WebhookDeliveryJob } from '@tally/contracts';
import { AppError } from '@tally/runtime';
import type { WebhookDeliveries } from './deliveries.ts';

/** One delivery attempt per run; a failure throws and the queue retries with backoff. */
export function webhookDeliveryProcessor(deliveries: WebhookDeliveries) {
  return async (job: Job<WebhookDeliveryJob>) => {
    const parsed = webhookDeliveryJobSchema.safeParse(job.data);
    if (!parsed.success) throw new AppError('invalid_job', `webhook job ${job.id}: ${parsed.error.message}`);
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    await deliveries.attempt(parsed.data.tenantId, parsed.data.deliveryId, lastAttempt);
  };
}
