import type { ErrorRequestHandler } from 'express';
import { DependencyUnavailableError, ValidationError, isAppError, type Logger } from '@tally/runtime';

/**
 * The one place errors become HTTP answers:
 * { success: false, error: { code, message, issues? } } (API.md "Errors").
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const requestId = res.getHeader('X-Request-Id');
    if (err?.type === 'entity.too.large') {
      res.status(413).json({ success: false, error: { code: 'PayloadTooLarge', message: 'request body is too large' } });
      return;
    }
    if (err?.type === 'entity.parse.failed') {
      res.status(400).json({ success: false, error: { code: 'ValidationError', message: 'body is not valid JSON', issues: [] } });
      return;
    }
    if (err instanceof ValidationError) {
      res.status(400).json({ success: false, error: { code: err.code, message: err.message, issues: err.issues } });
      return;
    }
    if (err instanceof DependencyUnavailableError) {
      logger.warn({ requestId, dependency: err.dependency, err: err.cause }, 'dependency unavailable');
      res.setHeader('Retry-After', '1');
      res.status(503).json({ success: false, error: { code: err.code, message: err.message, dependency: err.dependency } });
      return;
    }
    if (isAppError(err) && err.status < 500) {
      res.status(err.status).json({ success: false, error: { code: err.code, message: err.message, ...(err.details ?? {}) } });
      return;
    }
    logger.error({ requestId, err, path: req.path }, 'unhandled error');
    res.status(500).json({ success: false, error: { code: 'InternalError', message: 'internal error' } });
  };
}
