import type { Job } from 'bullmq';
import { deductJobSchema, type DeductJob } from '@tally/contracts';
import type { DeductService } from '@tally/metering';

/** Parses the deduct payload and hands it to the ledger; a throw retries the whole job (replay-safe). */
export const deductProcessor = (service: DeductService) => async (job: Job<DeductJob>) =>
  service.apply(deductJobSchema.parse(job.data), job.id ?? job.name);
