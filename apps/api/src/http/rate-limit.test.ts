import { describe, expect, it } from 'vitest';
import { clientAddress } from './rate-limit.ts';

describe('clientAddress: what a per-address limit counts against', () => {
  it('keeps IPv4 and unwraps IPv4-mapped IPv6', () => {
    expect(clientAddress('203.0.113.7')).toBe('203.0.113.7');
    expect(clientAddress('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientAddress(undefined)).toBe('unknown');
  });

  it('counts IPv6 by its /64, however the address is written', () => {
    const a = clientAddress('2001:db8:0:1:aaaa:bbbb:cccc:dddd');
    expect(a).toBe('2001:db8:0:1::/64');
    expect(clientAddress('2001:0db8:0000:0001::1')).toBe(a);
    expect(clientAddress('2001:db8:0:1::ffff%eth0')).toBe(a);
    expect(clientAddress('2001:db8:0:2::1')).not.toBe(a);
    expect(clientAddress('::1')).toBe('0:0:0:0::/64');
    expect(clientAddress('fe80::1')).toBe('fe80:0:0:0::/64');
  });
});
