import { defineErrors } from '@tally/runtime';

/**
 * Analytics' error codes: imports and rollup repairs. Declared once here (status, retryable,
 * meaning); a throw site names only the code and the message. docs/errors.md and the OpenAPI
 * document list them, and apps/api/src/http/errors-catalogues.test.ts fails when they disagree.
 * (`validation_error` is the HTTP edge's own code; `import_rows_pending` never leaves a job.)
 */
export const analyticsErrors = defineErrors({
  unsupported_format: { status: 400, retryable: false, meaning: 'an import file is neither NDJSON nor CSV (optionally gzip)' },
  import_not_found: { status: 404, retryable: false, meaning: 'no import with that id in this tenant' },
  import_not_cancellable: { status: 409, retryable: false, meaning: 'the import already finished, failed or was reverted' },
  import_not_revertable: { status: 409, retryable: false, meaning: 'the import is still running or was already reverted' },
  repair_in_progress: { status: 409, retryable: true, meaning: 'a rollup repair of this tenant is already running; retry when it ends' },
  import_limit_exceeded: { status: 413, retryable: false, meaning: 'an import file exceeds a size, line or row limit; `details` names it' },
});
