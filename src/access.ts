// Who may change state: loopback peers, or peers that present the admin token. Shared by both doors
// (the Gearman admin protocol and the HTTP API) so they can never disagree.

import { timingSafeEqual } from 'node:crypto';

/** A socket's remote address without the IPv4-mapped IPv6 prefix (`::ffff:127.0.0.1` -> `127.0.0.1`). */
export function peerAddress(raw: string | undefined): string {
  if (!raw) return 'unknown';
  return raw.startsWith('::ffff:') ? raw.slice(7) : raw;
}

export function isLoopback(raw: string | undefined): boolean {
  const a = peerAddress(raw);
  return a === '::1' || a.startsWith('127.');
}

/** Compares a presented token with the configured one in constant time. */
export function tokenEquals(given: string, expected: string): boolean {
  const x = Buffer.from(given);
  const y = Buffer.from(expected);
  return x.length === y.length && timingSafeEqual(x, y);
}
