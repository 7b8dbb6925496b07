import type { z } from 'zod';

/**
 * Why a billing job's payload was refused, for its UnrecoverableError (the
 * job's failedReason): the queue, the job and each zod issue on one line.
 */
export const invalidPayloadReason = (queue: string, jobId: string | undefined, error: z.ZodError): string =>
  `invalid_job: ${queue} job ${jobId}: ${error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`;
