import { hash, randomBytes } from 'node:crypto';

/**
 * Secret keys look like `sk_test_<32 base62 chars>` (about 190 bits of
 * randomness). Only the SHA-256 digest is stored; with that much entropy a
 * slow hash adds nothing but latency on every request. The first 12
 * characters are kept as a visible prefix so people can tell keys apart.
 */
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function generateSecretKey(environment: 'test' | 'live'): string {
  const bytes = randomBytes(32);
  let body = '';
  for (const b of bytes) body += ALPHABET[b % 62]; // 256 % 62 bias is negligible at this length
  return `sk_${environment}_${body}`;
}

export const hashSecretKey = (secret: string): Buffer => hash('sha256', secret, 'buffer');

export const keyPrefix = (secret: string): string => secret.slice(0, 12);

export const looksLikeSecretKey = (value: string): boolean => /^sk_(test|live)_[0-9A-Za-z]{32}$/.test(value);
