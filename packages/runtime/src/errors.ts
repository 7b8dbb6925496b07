import type { ErrorCodeInfo } from './error-codes.ts';

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

/** One error code as a package declares it: the answer's status, whether retrying can help, what it means. */
export interface ErrorSpec {
  status: number;
  retryable: boolean;
  /** The Retry-After a 503 or 429 of this code carries by default (the HTTP edge sends 1 without one). */
  retryAfterSeconds?: number;
  /** One line for docs/errors.md and the OpenAPI document. */
  meaning: string;
}

export interface ErrorExtra {
  details?: Record<string, unknown>;
  cause?: unknown;
  /** Overrides the declared Retry-After for this one error (a provider's own hint). */
  retryAfterSeconds?: number;
}

export type ErrorFactory = (message: string, extra?: ErrorExtra) => AppError;

/** The factories of a package's codes, by code, and the declarations themselves (`codes`) for the docs table. */
export type ErrorCatalogue<C extends string> = { readonly [K in C]: ErrorFactory } & { readonly codes: readonly ErrorCodeInfo[] };

/**
 * Declares a package's error codes once (its `errors.ts`): each factory makes an
 * AppError with the declared status and retryability, so no throw site restates
 * them. `codes` is what docs/errors.md and the OpenAPI document list.
 */
export function defineErrors<const S extends Record<string, ErrorSpec>>(specs: S): ErrorCatalogue<keyof S & string> {
  const out: Record<string, unknown> = {};
  const codes: ErrorCodeInfo[] = [];
  for (const [code, spec] of Object.entries(specs)) {
    if (!/^[a-z]+(_[a-z0-9]+)*$/.test(code)) throw new Error(`error code "${code}" is not snake_case`);
    codes.push({ code, status: spec.status, retryable: spec.retryable, meaning: spec.meaning });
    out[code] = (message: string, extra: ErrorExtra = {}) =>
      new AppError(code, message, {
        status: spec.status,
        retryable: spec.retryable,
        retryAfterSeconds: extra.retryAfterSeconds ?? spec.retryAfterSeconds,
        details: extra.details,
        cause: extra.cause,
      });
  }
  Object.defineProperty(out, 'codes', { value: codes, enumerable: false });
  return out as ErrorCatalogue<keyof S & string>;
}
