import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { histogram, type Logger } from '@tally/runtime';

const httpDuration = histogram('tally_http_request_duration_seconds', 'HTTP request duration', ['method', 'route', 'status'], [
  0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
]);

// The labelled child per (method, route, status), so a request does not re-hash its labels.
const children = new Map<string, ReturnType<typeof httpDuration.labels>>();
function observe(method: string, route: string, status: number, seconds: number): void {
  const key = `${method} ${route} ${status}`;
  let child = children.get(key);
  if (!child) {
    child = httpDuration.labels(method, route, String(status));
    children.set(key, child);
  }
  child.observe(seconds);
}

/** Request id (honours an incoming X-Request-Id), one JSON log line per request, latency metric. */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && /^[\w-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    res.locals.requestId = requestId;
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (req.route?.path as string | undefined) ?? 'unmatched';
      observe(req.method, route, res.statusCode, seconds);
      if (res.statusCode >= 500 || logger.isLevelEnabled('debug')) {
        logger[res.statusCode >= 500 ? 'warn' : 'debug'](
          { requestId, method: req.method, path: req.path, status: res.statusCode, ms: Math.round(seconds * 1e5) / 100 },
          'request',
        );
      }
    });
    next();
  };
}
