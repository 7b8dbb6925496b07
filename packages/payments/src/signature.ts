import { createHmac, timingSafeEqual } from 'node:crypto';
import { paymentErrors } from './errors.ts';

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: the scheme
 * Stripe uses, shared by the sandbox provider's webhooks and Tally's own
 * outbound webhooks (`Tally-Signature`). Signing the timestamp with the body
 * lets a receiver reject replays older than its tolerance.
 */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export function hmacHex(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
}

export function signatureHeader(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${hmacHex(secret, timestamp, body)}`;
}

export const invalidSignature = (message: string) => paymentErrors.invalid_signature(message);

/** Throws `invalid_signature` unless one v1 signature matches and the timestamp is within tolerance. */
export function verifySignatureHeader(
  header: string | undefined,
  body: string,
  secret: string,
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS,
): number {
  if (!header) throw invalidSignature('missing signature header');
  let timestamp: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === 't' && v && /^\d+$/.test(v)) timestamp = Number(v);
    if (k === 'v1' && v) candidates.push(v);
  }
  if (timestamp === undefined || candidates.length === 0) throw invalidSignature('malformed signature header');
  const expected = Buffer.from(hmacHex(secret, timestamp, body), 'hex');
  const match = candidates.some((c) => {
    const given = Buffer.from(c, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!match) throw invalidSignature('signature does not match');
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) throw invalidSignature('signature timestamp outside the tolerance');
  return timestamp;
}
