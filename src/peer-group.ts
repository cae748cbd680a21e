// Which peers count as one for per-peer limits. An IPv4 host has one address, but an IPv6 host is
// normally handed a whole /64 and can pick a new address from it for each connection, so a limit per
// exact IPv6 address would bound nothing. IPv6 peers are grouped by their /64 prefix; IPv4 peers (also
// when they arrive as IPv4-mapped IPv6) and loopback by their address.

import { isIPv4, isIPv6 } from 'node:net';
import { peerAddress } from './access.js';

/** The eight 16-bit groups of an IPv6 address (a dotted IPv4 tail becomes the last two); null if malformed. */
export function ipv6Groups(address: string): number[] | null {
  if (!isIPv6(address)) return null;
  let text = address.toLowerCase();
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[2]!.split('.').map(Number) as [number, number, number, number];
    text = `${dotted[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 1 || halves[1] === '' ? [] : halves[1]!.split(':');
  const fill = halves.length === 1 ? 0 : 8 - head.length - tail.length;
  const groups = [...head, ...Array<string>(fill).fill('0'), ...tail].map((g) => Number.parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : null;
}

/**
 * The key under which a peer's connections are counted: the address for IPv4, IPv4-mapped IPv6 and
 * loopback; the /64 prefix for other IPv6 addresses
 * (`2001:db8:1:2::/64`). Link-local addresses (fe80::/10) share
 * one /64 on every link, and NAT64 addresses (64:ff9b::/96) stand for whole IPv4 hosts, so both are
 * keyed by the full address.
 */
export function peerGroup(raw: string | undefined): string {
  const address = peerAddress(raw);
  if (isIPv4(address) || raw === undefined) return address;
  const groups = ipv6Groups(raw.replace(/%.*$/, ''));
  if (groups === null) return raw;
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [number, number, number, number, number, number, number, number];
  const hex = (g: number): string => g.toString(16);
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff) {
    // IPv4-mapped, written in hex (`::ffff:7f00:1`): the same host as the dotted form.
    return `${g6 >> 8}.${g6 & 0xff}.${g7 >> 8}.${g7 & 0xff}`;
  }
  if ((g0 & 0xffc0) === 0xfe80) return raw;
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return raw;
  if (groups.slice(0, 7).every((g) => g === 0) && (g7 === 1 || g7 === 0)) return raw; // ::1 and ::
  // The URL parser writes IPv6 in its canonical short form (RFC 5952), so one prefix has one spelling.
  const prefix = new URL(`http://[${[g0, g1, g2, g3].map(hex).join(':')}::]/`).hostname.slice(1, -1);
  return `${prefix}/64`;
}
