import { describe, expect, it } from 'vitest';
import { bullPrefix, isClusterUrl, parseClusterUrl } from './connection.ts';
import { keySlot } from './cluster.ts';

describe('parseClusterUrl', () => {
  it('reads the seed nodes of redis+cluster://', () => {
    expect(parseClusterUrl('redis+cluster://127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003')).toEqual({
      nodes: [
        { host: '127.0.0.1', port: 7001 },
        { host: '127.0.0.1', port: 7002 },
        { host: '127.0.0.1', port: 7003 },
      ],
      tls: false,
    });
  });

  it('takes credentials (percent-decoded), TLS, a default port, IPv6 and a trailing /0', () => {
    expect(parseClusterUrl('rediss+cluster://app:p%40ss:w@redis-a.internal,[::1]:7002/0')).toEqual({
      nodes: [
        { host: 'redis-a.internal', port: 6379 },
        { host: '::1', port: 7002 },
      ],
      username: 'app',
      password: 'p@ss:w',
      tls: true,
    });
    expect(parseClusterUrl('redis+cluster://:secret@h:1')).toEqual({ nodes: [{ host: 'h', port: 1 }], password: 'secret', tls: false });
  });

  it('is null for a plain URL, and plain URLs are not cluster URLs', () => {
    expect(parseClusterUrl('redis://127.0.0.1:6379/5')).toBeNull();
    expect(isClusterUrl('redis://127.0.0.1:6379')).toBe(false);
    expect(isClusterUrl('REDIS+CLUSTER://h:1')).toBe(true);
  });

  it('refuses a database other than 0, a bad port and an empty node', () => {
    expect(() => parseClusterUrl('redis+cluster://h:1,h:2/3')).toThrow(/only database 0/);
    expect(() => parseClusterUrl('redis+cluster://h:99999')).toThrow(/bad port/);
    expect(() => parseClusterUrl('redis+cluster://h:1,,h:2')).toThrow(/"" is not host:port/);
    expect(() => parseClusterUrl('redis+cluster://')).toThrow(/not host:port/);
  });
});

describe('bullPrefix', () => {
  it("keeps BullMQ's 'bull' on one server and is a hash tag on a Cluster", () => {
    expect(bullPrefix('redis://127.0.0.1:6379')).toBe('bull');
    expect(bullPrefix('redis+cluster://h:1,h:2')).toMatch(/^\{[^}]+\}$/);
  });
});

describe('keySlot', () => {
  // values from CLUSTER KEYSLOT (Redis 7.0) and the Redis Cluster spec's CRC16 check value
  it.each([
    ['123456789', 12739],
    ['a', 15495],
    ['{x}y', 16287],
    ['tally:{t:c}:meter:m', 12883],
    ['foo{}{bar}', 8363],
    ['{}x', 10595],
  ])('%s -> %i', (key, slot) => expect(keySlot(key)).toBe(slot));

  it('hashes only the first non-empty {tag}', () => {
    expect(keySlot('tally:{t1:c1}:meter:a')).toBe(keySlot('{t1:c1}'));
    expect(keySlot('tally:{t1:c1}:grants:b')).toBe(keySlot('t1:c1'));
    expect(keySlot('x{a}{b}')).toBe(keySlot('a'));
  });
});
