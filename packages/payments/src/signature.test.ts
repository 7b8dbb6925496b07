import { describe, expect, it } from 'vitest';
import { signatureHeader, verifySignatureHeader } from './signature.ts';

describe('webhook signatures', () => {
  const body = JSON.stringify({ id: 'evt_1', type: 'x' });
  const now = 1_800_000_000;

  it('accepts what it signed, within five minutes', () => {
    const header = signatureHeader('s3cret', body, now);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(verifySignatureHeader(header, body, 's3cret', now + 299)).toBe(now);
  });

  it('rejects a forged body, a wrong secret, a stale timestamp and garbage', () => {
    const header = signatureHeader('s3cret', body, now);
    expect(() => verifySignatureHeader(header, body + ' ', 's3cret', now)).toThrow(/does not match/);
    expect(() => verifySignatureHeader(header, body, 'other', now)).toThrow(/does not match/);
    expect(() => verifySignatureHeader(header, body, 's3cret', now + 301)).toThrow(/tolerance/);
    expect(() => verifySignatureHeader('v1=abc', body, 's3cret', now)).toThrow(/malformed/);
    expect(() => verifySignatureHeader(undefined, body, 's3cret', now)).toThrow(/missing/);
  });
});
