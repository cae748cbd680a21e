// Who may change state: loopback peers, or peers that present the admin token. Shared by both doors
// (the Gearman admin protocol and the HTTP API) so they can never disagree.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A socket's remote address without the IPv4-mapped IPv6 prefix (`::ffff:127.0.0.1` -> `127.0.0.1`). */
export function peerAddress(raw: string | undefined): string {
  if (!raw) return 'unknown';
  return raw.startsWith('::ffff:') ? raw.slice(7) : raw;
}

export function isLoopback(raw: string | undefined): boolean {
  const a = peerAddress(raw);
  return a === '::1' || a.startsWith('127.');
}

/** A key of this process only: digests made with it mean nothing anywhere else. */
const KEY = randomBytes(32);
const digest = (s: string): Buffer => createHmac('sha256', KEY).update(s, 'utf8').digest();

/**
 * Compares a presented token with the configured one in constant time. Both go through an HMAC first,
 * so the comparison is always of 32 bytes: neither the time taken nor an early length check tells a
 * guesser how long the real token is.
 */
export function tokenEquals(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}
