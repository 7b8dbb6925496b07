import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs to stdout; one root logger per process, children carry request/job ids. */
export function createLogger(name: string, level = 'info'): Logger {
  return pino({
    name,
    level,
    base: { service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', '*.apiKey', '*.secret'], censor: '[redacted]' },
  });
}
