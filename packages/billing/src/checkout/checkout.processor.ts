import { UnrecoverableError, type Job } from 'bullmq';
import type { CheckoutService } from './checkout-service.ts';
import { checkoutJobSchema, type CheckoutJob } from './checkout.queue.ts';
import { invalidPayloadReason } from '../invalid-payload.ts';

/**
 * The "checkout" queue's processor (queue: checkout.queue.ts): parses the job
 * and moves its purchase forward; nothing else.
 *
 * A payload that fails validation would fail the same way on every attempt,
 * so it is not retried: the job fails at once and stays in the failed set with
 * its data (visible, replayable with BullMQ's retry). A purchase it was for is
 * still moved on by the billing sweep, which re-runs stale purchases directly.
 */
export function checkoutProcessor(service: CheckoutService) {
  return async (job: Job<CheckoutJob>) => {
    const parsed = checkoutJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(invalidPayloadReason('checkout', job.id, parsed.error));
    return { status: await service.process(parsed.data.tenantId, parsed.data.purchaseId) };
  };
}
