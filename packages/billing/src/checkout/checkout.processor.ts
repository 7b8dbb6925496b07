import type { Job } from 'bullmq';
import { checkoutJobSchema, type CheckoutJob } from '@tally/contracts';
import { AppError } from '@tally/runtime';
import type { CheckoutService } from './checkout-service.ts';

/** Parses the job and moves its purchase forward; nothing else. */
export function checkoutProcessor(service: CheckoutService) {
  return async (job: Job<CheckoutJob>) => {
    const parsed = checkoutJobSchema.safeParse(job.data);
    if (!parsed.success) throw new AppError('invalid_job', `checkout job ${job.id}: ${parsed.error.message}`);
    return { status: await service.process(parsed.data.tenantId, parsed.data.purchaseId) };
  };
}
