import { Queue, type JobsOptions } from 'bullmq';
import type { ImportJob } from '@tally/contracts';
import { ownBull } from '@tally/redis';

/** The "import" queue (name overridable by IMPORT_QUEUE): one job per chunk (chained in order) and one per revert. */
export const IMPORT_QUEUE = 'import';

export const importJobOptions: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { count: 1000 },
  removeOnFail: { count: 5000 },
};

/** Deterministic job ids: enqueuing the same chunk twice is a no-op. */
export const importJobId = (job: ImportJob) => (job.kind === 'chunk' ? `${job.importId}-c${job.chunk}` : `${job.importId}-revert`);

export async function enqueueImportJob(queue: Queue, job: ImportJob): Promise<void> {
  await queue.add(job.kind, job, { ...importJobOptions, jobId: importJobId(job) });
}

/** A producer handle on the import queue (the API enqueues chunk 0 and reverts). */
export const createImportQueue = (redisUrl: string, name = IMPORT_QUEUE) => ownBull(redisUrl, (o) => new Queue(name, o));
