import { UnrecoverableError, type Job } from 'bullmq';
import type { WebhookDeliveries } from './deliveries.ts';
import { webhookDeliveryJobSchema, type WebhookDeliveryJob } from './webhook-delivery.queue.ts';
import { invalidPayloadReason } from '../invalid-payload.ts';

/**
 * The "webhooks" queue's processor (queue: webhook-delivery.queue.ts): one
 * delivery attempt per run; a failure throws and the queue retries with backoff.
 *
 * A payload that fails validation is not retried: the job fails at once and
 * stays in the failed set with its data (visible, replayable with BullMQ's
 * retry once the cause is fixed).
 */
export function webhookDeliveryProcessor(deliveries: WebhookDeliveries) {
  return async (job: Job<WebhookDeliveryJob>) => {
    const parsed = webhookDeliveryJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(invalidPayloadReason('webhook', job.id, parsed.error));
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    await deliveries.attempt(parsed.data.tenantId, parsed.data.deliveryId, lastAttempt);
  };
}
