import { describe, expect, it } from 'vitest';
import { blockedKind } from './target-address.ts';
import { assertWebhookTarget, checkedAddresses, STRICT_WEBHOOK_TARGETS, type Resolver } from './target-policy.ts';

describe('blockedKind', () => {
  const cases: Array<[string, string | null]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['100.127.255.254', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['64:ff9b::7f00:1', 'reserved'],
    ['2002:7f00:1::1', 'reserved'],
    ['::127.0.0.1', 'reserved'],
    ['not-an-ip', 'reserved'],
    // public
    ['8.8.8.8', null],
    ['1.1.1.1', null],
    ['172.32.0.1', null],
    ['100.128.0.1', null],
    ['192.169.0.1', null],
    ['::ffff:8.8.8.8', null],
    ['2606:4700:4700::1111', null],
    ['[2606:4700:4700::1111]', null],
  ];
  it.each(cases)('%s → %s', (ip, kind) => {
    expect(blockedKind(ip)).toBe(kind);
  });
});

const noDns: Resolver = async (host) => {
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
};
const resolvesTo =
  (...addresses: string[]): Resolver =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) }));

describe('assertWebhookTarget', () => {
  const refused = async (url: string, resolve: Resolver = noDns, policy = STRICT_WEBHOOK_TARGETS) => {
    try {
      await assertWebhookTarget(url, policy, resolve);
    } catch (err) {
      const e = err as { status: number; issues: Array<{ path: string; message: string }> };
      expect(e.status).toBe(400);
      expect(e.issues[0]!.path).toBe('url');
      expect(e.issues[0]!.message).toContain(url);
      return e.issues[0]!.message;
    }
    return null;
  };

  it('refuses loopback, private, link-local and metadata addresses by literal, short, decimal, octal and hex forms', async () => {
    for (const url of [
      'https://127.0.0.1/hook',
      'https://127.1/hook',
      'https://2130706433/healthz',
      'https://017700000001/',
      'https://0x7f000001/',
      'https://0x7f.1/',
      'https://[::1]/',
      'https://[::ffff:127.0.0.1]/',
      'https://[0:0:0:0:0:0:0:1]/',
      'https://0/',
      'https://0.0.0.0/',
      'https://10.0.0.5/',
      'https://192.168.0.10:8443/',
      'https://172.20.1.1/',
      'https://100.64.1.1/',
      'https://169.254.169.254/latest/meta-data/',
      'https://[fe80::1]/',
      'https://[fd00::1]/',
      'https://224.0.0.251/',
    ]) {
      expect(await refused(url), url).toMatch(/address; webhooks are delivered to public addresses only/);
    }
  });

  it('refuses a name that resolves to a blocked address (any one of several), naming what it resolved to', async () => {
    expect(await refused('https://localhost/x', resolvesTo('127.0.0.1'))).toMatch(/localhost resolves to 127\.0\.0\.1, a loopback address/);
    expect(await refused('https://hooks.example/x', resolvesTo('93.184.216.34', '10.0.0.1'))).toMatch(/resolves to 10\.0\.0\.1, a private address/);
    expect(await refused('https://meta.example/x', resolvesTo('169.254.169.254'))).toMatch(/link-local/);
  });

  it('accepts a public https target, and a name that does not resolve yet (delivery checks again)', async () => {
    expect(await refused('https://hooks.example/x', resolvesTo('93.184.216.34'))).toBeNull();
    expect(await refused('https://93.184.216.34/x')).toBeNull();
    expect(await refused('https://nowhere.invalid/x')).toBeNull();
  });

  it('http only when the deployment allows it; never credentials; private targets only when allowed', async () => {
    expect(await refused('http://93.184.216.34/x')).toMatch(/must be an https URL/);
    expect(await refused('http://93.184.216.34/x', noDns, { allowHttp: true, allowPrivateTargets: false })).toBeNull();
    expect(await refused('http://127.0.0.1:9/x', noDns, { allowHttp: true, allowPrivateTargets: false })).toMatch(/loopback/);
    expect(await refused('https://user:pw@93.184.216.34/x')).toMatch(/credentials/);
    expect(await refused('http://127.0.0.1:9/x', noDns, { allowHttp: true, allowPrivateTargets: true })).toBeNull();
  });
});

describe('checkedAddresses', () => {
  it('returns the resolved addresses when all are public, and literal IPs without resolving', async () => {
    expect(await checkedAddresses('hooks.example', STRICT_WEBHOOK_TARGETS, resolvesTo('93.184.216.34'))).toEqual([{ address: '93.184.216.34', family: 4 }]);
    expect(await checkedAddresses('2606:4700::1', STRICT_WEBHOOK_TARGETS, noDns)).toEqual([{ address: '2606:4700::1', family: 6 }]);
    await expect(checkedAddresses('rebind.example', STRICT_WEBHOOK_TARGETS, resolvesTo('127.0.0.1'))).rejects.toThrow(/loopback/);
  });
});
