import type { Job } from 'bullmq';
import { counter, type Logger } from '@tally/runtime';
import { checkDeductPayload } from '../dead-letters/deduct-payload.ts';
import type { DeadLetterRepo } from '../dead-letters/dead-letter-repo.ts';
import type { DeductService, DeductSummary } from './deduct-service.ts';

const setAside = counter('tally_deduct_invalid_payloads_total', 'parts of deduct job payloads that failed validation, by where they went', ['outcome']);

export interface DeductProcessorDeps {
  service: DeductService;
  deadLetters: Pick<DeadLetterRepo, 'add'>;
  logger: Logger;
}

export type DeductOutcome = DeductSummary & { deadLettered: number };

/**
 * The deduct queue's processor (queue: deduct.queue.ts). Validates the
 * payload, then hands it to the ledger; a throw retries the whole job
 * (replay-safe, see DeductService).
 *
 * A payload that fails validation is never retried: no attempt would make it
 * valid, and the bridge waits for its batch's job to complete. Each invalid
 * customer group goes to usage_dead_letters under its tenant (table
 * `deduct_job`: listed by GET /v1/dead-letters, replayed by publishing its
 * events again), the valid groups are applied, and the job completes. A part
 * naming no known tenant is logged with its batch's offsets (the events are
 * still in Kafka) and counted.
 */
export const deductProcessor = (deps: DeductProcessorDeps) => async (job: Job<unknown>): Promise<DeductOutcome> => {
  const checked = checkDeductPayload(job.data);
  let deadLettered = 0;
  if (checked.letters.length > 0 || checked.unattributed.length > 0) {
    // stored before the valid part is applied: a crash in between retries the job, and the letters are kept once
    deadLettered = await deps.deadLetters.add(checked.letters, { knownTenantsOnly: true });
    // not stored: naming no tenant, an unknown one, or stored by an earlier attempt of this job
    const notStored = checked.letters.length - deadLettered + checked.unattributed.length;
    setAside.labels('dead_lettered').inc(deadLettered);
    if (notStored > 0) setAside.labels('not_stored').inc(notStored);
    deps.logger.error(
      { jobId: job.id, deadLettered, notStored, reasons: checked.letters.slice(0, 5).map((l) => l.reason), unattributed: checked.unattributed.slice(0, 3) },
      'deduct payload failed validation: set aside, not retried',
    );
  }
  const empty: DeductSummary = { applied: 0, replayed: 0, duplicates: 0, conflicts: 0, unmetered: 0, claimedElsewhere: 0 };
  const summary = checked.job ? await deps.service.apply(checked.job, job.id ?? job.name) : empty;
  return { ...summary, deadLettered };
};
