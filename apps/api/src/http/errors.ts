import type { ErrorRequestHandler, Response } from 'express';
import { DependencyUnavailableError, ValidationError, isAppError, type AppError, type Logger } from '@tally/runtime';

/** Statuses a client should retry after waiting: they carry Retry-After (seconds). */
const RETRY_STATUSES = new Set([429, 503]);
const DEFAULT_RETRY_AFTER_S = 1;

/** An error from express or its body parsers (http-errors): a 4xx with a safe message and a `type`. */
interface HttpError {
  status: number;
  expose: boolean;
  type?: string;
  message: string;
}

const isClientHttpError = (err: unknown): err is HttpError => {
  const e = err as Partial<HttpError> | null;
  return typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && e.expose === true;
};

function send(res: Response, status: number, error: Record<string, unknown>, retryAfterSeconds?: number): void {
  if (RETRY_STATUSES.has(status)) res.setHeader('Retry-After', String(retryAfterSeconds ?? DEFAULT_RETRY_AFTER_S));
  res.status(status).json({ success: false, error });
}

const appErrorBody = (err: AppError): Record<string, unknown> => ({ code: err.code, message: err.message, ...(err.details ?? {}) });

/**
 * The one place errors become HTTP answers:
 * { success: false, error: { code, message, issues?, ... } } (API.md "Errors").
 * Every AppError keeps its own status and code; 503 and 429 carry Retry-After;
 * only errors nobody anticipated become 500 internal_error.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    // already answered (e.g. 503 deadline_exceeded): a late error only gets logged
    if (res.headersSent) {
      logger.warn({ err, path: req.path }, 'error after the answer was sent');
      return;
    }
    const requestId = res.getHeader('X-Request-Id');
    if (err?.type === 'entity.too.large') {
      send(res, 413, { code: 'payload_too_large', message: 'request body is too large' });
      return;
    }
    if (err?.type === 'entity.parse.failed') {
      send(res, 400, { code: 'validation_error', message: 'body is not valid JSON', issues: [] });
      return;
    }
    // A path segment that does not decode (express's router throws URIError with status 400).
    if (err instanceof URIError) {
      send(res, 400, { code: 'validation_error', message: 'the path is not valid percent-encoded UTF-8', issues: [{ path: 'path', message: 'not valid percent-encoding' }] });
      return;
    }
    if (err instanceof ValidationError) {
      send(res, 400, { code: err.code, message: err.message, issues: err.issues });
      return;
    }
    if (err instanceof DependencyUnavailableError) {
      logger.warn({ requestId, dependency: err.dependency, err: err.cause }, 'dependency unavailable');
      send(res, 503, { code: err.code, message: err.message, dependency: err.dependency }, err.retryAfterSeconds);
      return;
    }
    if (isAppError(err)) {
      const status = err.status >= 400 && err.status <= 599 ? err.status : 500;
      if (status >= 500) logger.warn({ requestId, code: err.code, err, path: req.path }, 'request failed');
      send(res, status, appErrorBody(err), err.retryAfterSeconds);
      return;
    }
    if (isClientHttpError(err)) {
      // a body the parsers refused (unsupported encoding or charset: 415; unreadable: 400): the client's problem, worth a warning
      logger.warn({ requestId, type: err.type, status: err.status, path: req.path }, 'request body refused');
      send(res, err.status, { code: err.type ? err.type.replace(/\./g, '_') : `http_${err.status}`, message: err.message });
      return;
    }
    logger.error({ requestId, err, path: req.path }, 'unhandled error');
    send(res, 500, { code: 'internal_error', message: 'internal error' });
  };
}
