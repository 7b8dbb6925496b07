import { defineErrors } from '@tally/runtime';

/**
 * Metering's error codes: ingest (track, batch; a batch answers the per-event ones as that event's `error.code`),
 * check, the balance rebuild and dead letters.
 * Declared once here (status, retryable, meaning); a throw site names only the
 * code and the message. docs/errors.md and the OpenAPI document list them, and
 * apps/api/src/http/errors-catalogues.test.ts fails when they disagree.
 * The deduct job's own retry signals (state_behind, RowsClaimedElsewhere) never
 * leave the job (BullMQ retries them), so they are not declared here.
 */
export const meteringErrors = defineErrors({
  invalid_event: { status: 400, retryable: false, meaning: 'a usage event is malformed (in a batch: only that event is `rejected`)' },
  invalid_json: { status: 400, retryable: false, meaning: 'an NDJSON line is not JSON (in a batch: only that line is `rejected`)' },
  feature_not_metered: { status: 400, retryable: false, meaning: 'a usage event names a boolean feature (in a batch: only that event is `rejected`)' },
  timestamp_out_of_range: { status: 400, retryable: false, meaning: 'an event timestamp is too far in the past or future (in a batch: only that event is `rejected`)' },
  credits_overflow: { status: 400, retryable: false, meaning: 'value × credit cost exceeds what a balance can hold exactly' },
  dead_letter_not_found: { status: 404, retryable: false, meaning: 'no dead letter with that id in this tenant' },
  event_conflict: { status: 409, retryable: false, meaning: 'the event id was already used with another payload; not applied' },
  dead_letter_already_replayed: { status: 409, retryable: false, meaning: 'the dead letter was already inserted again' },
  payload_too_large: { status: 413, retryable: false, meaning: 'the body (or batch) is larger than allowed' },
  dead_letter_refused: {
    status: 422,
    retryable: false,
    meaning: "the replay did not go through: ClickHouse refused the row again, or a deduct payload could not be published again (still invalid, another tenant's events, no producer here); `details.reason` says why",
  },
  rebuild_busy: { status: 503, retryable: true, meaning: "the customer's balance is being rebuilt; retry after `Retry-After`" },
  state_unavailable: { status: 503, retryable: true, meaning: "the customer's balance could not be rebuilt now; retry after `Retry-After`" },
});
