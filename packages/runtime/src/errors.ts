/**
 * Errors that cross a boundary carry a stable `code`, the HTTP status the edge
 * should answer with, and whether retrying the same operation can help.
 * The HTTP edge maps them in one place (apps/api/src/http/errors.ts); queue
 * processors use `retryable` to decide between retry and failing for good.
 */
export interface AppErrorOptions {
  status?: number;
  retryable?: boolean;
  /** Seconds a client should wait before retrying (sent as Retry-After on 503 and 429; default 1). */
  retryAfterSeconds?: number;
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  readonly retryAfterSeconds: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = options.status ?? 500;
    this.retryable = options.retryable ?? false;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.details = options.details;
  }
}

export interface ValidationIssue {
  path: string;
  message: string;
}

export class ValidationError extends AppError {
  readonly issues: ValidationIssue[];
  constructor(message: string, issues: ValidationIssue[] = []) {
    super('validation_error', message, { status: 400 });
    this.issues = issues;
  }
}

export const notFound = (code: string, message: string) => new AppError(code, message, { status: 404 });

export const badRequest = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError(code, message, { status: 400, details });

export const conflict = (code: string, message: string) => new AppError(code, message, { status: 409 });

/** A dependency (Kafka, Redis, Postgres, ClickHouse) could not be reached: 503, retry later. */
export class DependencyUnavailableError extends AppError {
  readonly dependency: string;
  constructor(dependency: string, cause?: unknown, retryAfterSeconds?: number) {
    super('service_unavailable', `${dependency} is unavailable`, { status: 503, retryable: true, cause, retryAfterSeconds });
    this.dependency = dependency;
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
