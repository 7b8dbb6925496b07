import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox, parseCredentialsKey } from './secret-box.ts';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));

  it('opens what it sealed for the same context, and the sealed text does not contain the secret', () => {
    const sealed = box.seal('sk_test_abc123', 'tenant-1:stripe:secretKey');
    expect(sealed).not.toContain('sk_test_abc123');
    expect(sealed.startsWith('v1.')).toBe(true);
    expect(box.open(sealed, 'tenant-1:stripe:secretKey')).toBe('sk_test_abc123');
    expect(box.seal('same', 'c')).not.toBe(box.seal('same', 'c')); // a fresh IV each time
  });

  it('refuses another context, another key, and a tampered value', () => {
    const sealed = box.seal('sk_test_abc123', 'tenant-1:stripe:secretKey');
    expect(() => box.open(sealed, 'tenant-2:stripe:secretKey')).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'tenant-1:stripe:secretKey')).toThrow();
    const parts = sealed.split('.');
    parts[3] = Buffer.from('x' + Buffer.from(parts[3]!, 'base64url').toString('latin1'), 'latin1').toString('base64url');
    expect(() => box.open(parts.join('.'), 'tenant-1:stripe:secretKey')).toThrow();
    expect(() => box.open('garbage', 'c')).toThrow('not a sealed secret');
  });

  it('takes a 32-byte key as hex or base64 and nothing shorter', () => {
    const key = randomBytes(32);
    expect(parseCredentialsKey(key.toString('hex')).equals(key)).toBe(true);
    expect(parseCredentialsKey(key.toString('base64')).equals(key)).toBe(true);
    expect(() => new SecretBox(Buffer.alloc(16))).toThrow('32 bytes');
  });
});
