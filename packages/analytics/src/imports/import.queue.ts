import { Queue, type JobsOptions } from 'bullmq';
import { importJobSchema, type ImportJob } from '@tally/contracts';
import { ownBull } from '@tally/redis';

/** The payload schema (in @tally/contracts: the API enqueues it too); import.processor.ts parses with it. */
export { importJobSchema, type ImportJob };

/** The "import" queue's default name (IMPORT_QUEUE overrides it): one job per chunk (chained in order) and one per revert. */
export const IMPORT_QUEUE = 'import';

export const importJobOptions: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { count: 1000 },
  // failed jobs (an invalid payload among them) stay listed, with their data, for inspection and replay
  removeOnFail: { count: 5000 },
};

/**
 * Worker settings: a killed workers process's chunk is taken over within about 15 s (BullMQ's defaults,
 * a 30 s lock checked every 30 s, made that up to a minute), and a chunk is never failed for having
 * stalled: a chunk run again is a retry (ids are claimed, rows replace themselves), and failing it
 * would leave the import failed for a crash.
 */
export const importWorkerOptions = { lockDuration: 10_000, stalledInterval: 5_000, maxStalledCount: 1_000 };

/** Deterministic job ids: enqueuing the same chunk twice is a no-op. */
export const importJobId = (job: ImportJob) => (job.kind === 'chunk' ? `${job.importId}-c${job.chunk}` : `${job.importId}-revert`);

export async function enqueueImportJob(queue: Queue, job: ImportJob): Promise<void> {
  await queue.add(job.kind, job, { ...importJobOptions, jobId: importJobId(job) });
}

/** A producer handle on the import queue (the API enqueues chunk 0 and reverts; the workers the next chunks). */
export const createImportQueue = (redisUrl: string, name = IMPORT_QUEUE) => ownBull(redisUrl, (o) => new Queue(name, o));
