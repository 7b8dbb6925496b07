/**
 * The registry of the error codes every route shares. docs/errors.md's table is
 * compared with it by error-codes.test.ts, so the two cannot drift.
 * Convention: snake_case, except `ValidationError` and `Unauthorized`, kept as
 * Owostack's clients expect them (the HTTP contract names both).
 * Route-specific codes (e.g. `import_not_cancellable`) are documented with their route.
 */
export interface ErrorCodeInfo {
  code: string;
  status: number;
  retryable: boolean;
  meaning: string;
}

export const ERROR_CODES: readonly ErrorCodeInfo[] = [
  { code: 'ValidationError', status: 400, retryable: false, meaning: 'the body, query or path is invalid; `issues` names each field' },
  { code: 'Unauthorized', status: 401, retryable: false, meaning: 'the API key is missing, unknown or revoked' },
  { code: 'customer_not_found', status: 404, retryable: false, meaning: 'no customer with that id or email in this tenant' },
  { code: 'feature_not_found', status: 404, retryable: false, meaning: 'no feature with that slug in the catalog' },
  { code: 'pack_not_found', status: 404, retryable: false, meaning: 'no credit pack with that slug or id' },
  { code: 'plan_not_found', status: 404, retryable: false, meaning: 'no plan with that slug' },
  { code: 'payload_too_large', status: 413, retryable: false, meaning: 'the body (or batch) is larger than allowed' },
  { code: 'internal_error', status: 500, retryable: false, meaning: 'an unexpected failure; the request id is in `X-Request-Id`' },
  { code: 'service_unavailable', status: 503, retryable: true, meaning: 'a dependency (Kafka, Redis, Postgres, ClickHouse) is down; nothing was done; retry after `Retry-After`' },
];
