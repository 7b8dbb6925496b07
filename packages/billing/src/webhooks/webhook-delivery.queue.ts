import { Queue, type JobsOptions } from 'bullmq';
import { ownBull } from '@tally/redis';
import { webhookDeliveryJobSchema, type WebhookDeliveryJob } from '@tally/contracts';

/** The payload schema (in @tally/contracts with the other job payloads); webhook-delivery.processor.ts parses with it. */
export { webhookDeliveryJobSchema, type WebhookDeliveryJob };

/** The "webhooks" queue: outbound webhook deliveries, one job per delivery (jobId = delivery id). */
export const WEBHOOKS_QUEUE = 'webhooks';

/**
 * Exponential backoff 2 s, 4 s, 8 s … over 10 attempts (about 17 minutes).
 * Failed jobs (an invalid payload among them) stay a week in the failed set,
 * with their data, for inspection and replay.
 */
export const WEBHOOK_JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export class WebhookQueue {
  readonly queue: Queue<WebhookDeliveryJob>;

  constructor(redisUrl: string) {
    this.queue = ownBull(redisUrl, (o) => new Queue<WebhookDeliveryJob>(WEBHOOKS_QUEUE, o));
  }

  async enqueue(job: WebhookDeliveryJob): Promise<void> {
    await this.queue.add('deliver', job, { ...WEBHOOK_JOB_OPTIONS, jobId: job.deliveryId });
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
