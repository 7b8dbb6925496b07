import { UnrecoverableError, type Job } from 'bullmq';
import { z } from 'zod';
import type { Logger } from '@tally/runtime';
import type { ImportProcessor } from './chunk-processor.ts';
import type { ImportStore } from './import-store.ts';
import { importJobSchema } from './import.queue.ts';

/** Jobs of different imports run side by side; one import's chunks run in order (each enqueues the next). */
export const IMPORT_CONCURRENCY = 2;

export interface ImportJobDeps {
  imports: Pick<ImportProcessor, 'processChunk' | 'revert'>;
  store: Pick<ImportStore, 'transition'>;
  logger: Logger;
}

/** Enough of a payload to tell whose import it was, when the rest is invalid. */
const owner = z.object({ importId: z.uuid(), tenantId: z.string().min(1) });

/**
 * The "import" queue's processor: chunk jobs (report imports straight to
 * ClickHouse, apply imports through the metering pipeline) and revert jobs.
 *
 * A payload that fails validation fails the same way on every attempt, so it
 * is not retried: the job fails at once (UnrecoverableError) and stays in the
 * queue's failed set with its data (visible, and replayable with BullMQ's
 * retry once the cause is fixed). When the payload still names its import,
 * a queued or running import is marked failed with the reason, so its owner
 * sees it in GET /v1/imports/:id rather than an import stuck in 'running'
 * (a reverting one is left as it is: asking for the revert again re-enqueues it).
 */
export const importProcessor = (deps: ImportJobDeps) => async (job: Job<unknown>): Promise<void> => {
  const parsed = importJobSchema.safeParse(job.data);
  if (!parsed.success) {
    const reason = `invalid import job payload: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`;
    await markFailed(deps, job.data, reason);
    deps.logger.error({ queue: job.queueName, jobId: job.id, reason }, 'import job refused: invalid payload, not retried');
    throw new UnrecoverableError(reason);
  }
  const data = parsed.data;
  if (data.kind === 'chunk') await deps.imports.processChunk(data.importId, data.tenantId, data.chunk);
  else await deps.imports.revert(data.importId, data.tenantId);
};

async function markFailed(deps: ImportJobDeps, data: unknown, reason: string): Promise<void> {
  const named = owner.safeParse(data);
  if (!named.success) return;
  try {
    await deps.store.transition(named.data.importId, named.data.tenantId, ['queued', 'running'], 'failed', reason);
  } catch (err) {
    // the job fails for good either way; the failed job keeps the payload
    deps.logger.warn({ err, importId: named.data.importId }, 'could not mark the import failed');
  }
}
