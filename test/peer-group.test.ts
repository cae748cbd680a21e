// Per-peer limits count an IPv6 host by its /64 (it can pick any address in it), IPv4 hosts and IPv4-mapped
// IPv6 by their address, loopback as it is.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ipv6Groups, peerGroup } from '../src/peer-group.js';

test('peerGroup: IPv6 by its /64, IPv4 (also mapped) and loopback by the address', () => {
  const cases: [string | undefined, string][] = [
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:203.0.113.7', '203.0.113.7'],
    ['::ffff:cb00:7107', '203.0.113.7'],
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2:FFFF:FFFF:FFFF:FFFF', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:a:b:192.0.2.1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8::/64'],
    ['2001:db8:0:0:1::1', '2001:db8::/64'],
    ['2001:db8:1:3::1', '2001:db8:1:3::/64'],
    // Every link's link-local /64 is the same fe80::/64, and NAT64 addresses stand for IPv4 hosts.
    ['fe80::1%eth0', 'fe80::1%eth0'],
    ['fe80::2', 'fe80::2'],
    ['64:ff9b::192.0.2.1', '64:ff9b::192.0.2.1'],
    [undefined, 'unknown'],
    ['not an address', 'not an address'],
  ];
  for (const [raw, key] of cases) assert.equal(peerGroup(raw), key, String(raw));
  // 2^64 addresses of one host are one key; a neighbouring /64 is another.
  const keys = new Set(Array.from({ length: 1000 }, (_, i) => peerGroup(`2001:db8:aa:bb:${i.toString(16)}:${(i * 7).toString(16)}::1`)));
  assert.deepEqual([...keys], ['2001:db8:aa:bb::/64']);
});

test('ipv6Groups: the eight groups, or null for what is not IPv6', () => {
  assert.deepEqual(ipv6Groups('1::2:3'), [1, 0, 0, 0, 0, 0, 2, 3]);
  assert.deepEqual(ipv6Groups('::'), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(ipv6Groups('::ffff:1.2.3.4'), [0, 0, 0, 0, 0, 0xffff, 0x102, 0x304]);
  assert.equal(ipv6Groups('1.2.3.4'), null);
  assert.equal(ipv6Groups('1:2:3'), null);
});
