import type { IncomingMessage } from 'node:http';

/**
 * Provider webhooks are verified over the exact bytes received, so the JSON
 * parser keeps the raw body for those routes only (`verify` hook of express.json).
 */
export const RAW_BODY_PATH = /^\/v1\/providers\//;

export function keepRawBody(req: IncomingMessage, _res: unknown, buf: Buffer): void {
  if (RAW_BODY_PATH.test(req.url ?? '')) (req as IncomingMessage & { rawBody?: string }).rawBody = buf.toString('utf8');
}

export const rawBodyOf = (req: IncomingMessage): string | undefined => (req as IncomingMessage & { rawBody?: string }).rawBody;
