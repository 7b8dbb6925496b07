import { BlockList, isIP } from 'node:net';

/**
 * Which addresses a webhook may never be delivered to: anything that reaches
 * Tally's own network rather than the tenant's server. Checked on the address
 * a socket would connect to (after DNS), never on the name.
 *
 * BlockList matches an IPv4-mapped IPv6 address (::ffff:127.0.0.1) against the
 * IPv4 rules, so the mapped forms need no rule of their own. Prefixes that
 * embed or translate an IPv4 address (NAT64, 6to4, Teredo, IPv4-compatible)
 * are refused whole: no tenant webhook needs them.
 */
export type BlockedKind = 'unspecified' | 'loopback' | 'link-local' | 'private' | 'multicast' | 'reserved';

const RULES: Array<[BlockedKind, Array<[string, number, 'ipv4' | 'ipv6']>]> = [
  ['unspecified', [['0.0.0.0', 8, 'ipv4'], ['::', 128, 'ipv6']]],
  ['loopback', [['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']]],
  // 169.254.169.254 is the cloud metadata service
  ['link-local', [['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']]],
  [
    'private',
    [
      ['10.0.0.0', 8, 'ipv4'],
      ['172.16.0.0', 12, 'ipv4'],
      ['192.168.0.0', 16, 'ipv4'],
      ['100.64.0.0', 10, 'ipv4'], // carrier-grade NAT (shared address space)
      ['fc00::', 7, 'ipv6'], // unique local
      ['fec0::', 10, 'ipv6'], // site-local (deprecated)
    ],
  ],
  ['multicast', [['224.0.0.0', 4, 'ipv4'], ['ff00::', 8, 'ipv6']]],
  [
    'reserved',
    [
      ['192.0.0.0', 24, 'ipv4'],
      ['192.0.2.0', 24, 'ipv4'],
      ['198.18.0.0', 15, 'ipv4'],
      ['198.51.100.0', 24, 'ipv4'],
      ['203.0.113.0', 24, 'ipv4'],
      ['240.0.0.0', 4, 'ipv4'], // includes 255.255.255.255
      ['::', 96, 'ipv6'], // IPv4-compatible (deprecated)
      ['64:ff9b::', 96, 'ipv6'], // NAT64
      ['64:ff9b:1::', 48, 'ipv6'],
      ['100::', 64, 'ipv6'], // discard-only
      ['2001::', 32, 'ipv6'], // Teredo
      ['2001:db8::', 32, 'ipv6'], // documentation
      ['2002::', 16, 'ipv6'], // 6to4
    ],
  ],
];

const LISTS: Array<[BlockedKind, BlockList]> = RULES.map(([kind, subnets]) => {
  const list = new BlockList();
  for (const [net, prefix, family] of subnets) list.addSubnet(net, prefix, family);
  return [kind, list];
});

/** The kind of non-public address `ip` is, or null for a public one. Not an IP address at all: 'reserved' (refused). */
export function blockedKind(ip: string): BlockedKind | null {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const version = isIP(bare);
  if (version === 0) return 'reserved';
  const family = version === 4 ? 'ipv4' : 'ipv6';
  for (const [kind, list] of LISTS) if (list.check(bare, family)) return kind;
  return null;
}
