// Shared steps for the gearman server tests: a way to prove that nothing else was sent, and admin probes.

import assert from 'node:assert/strict';
import type { RawPeer, Received } from '../helpers/gearman-client.js';

let syncSeq = 0;

/**
 * Round-trips an ECHO_REQ: everything the server sent before it has arrived when this returns, and
 * the packets in between are returned (a test asserts they are what it expects, often none).
 */
export async function sync(peer: RawPeer): Promise<Received[]> {
  const token = `sync-${++syncSeq}`;
  peer.send('ECHO_REQ', token);
  const between: Received[] = [];
  for (;;) {
    const r = await peer.next();
    if (r.name === 'ECHO_RES' && r.text[0] === token) return between;
    between.push(r);
  }
}

/** Asserts the server sent this peer nothing (so far, in order) beyond what was consumed. */
export async function assertSilent(peer: RawPeer, what: string): Promise<void> {
  const extra = await sync(peer);
  assert.deepEqual(
    extra.map((r) => `${r.name} ${JSON.stringify(r.text)}`),
    [],
    `${what}: expected no packet, got these`,
  );
}

/** Repeats an admin probe until check() accepts the reply (each probe is a round trip, no timer). */
export async function adminUntil(peer: RawPeer, line: string, check: (reply: string) => boolean, tries = 500): Promise<string> {
  let reply = '';
  for (let i = 0; i < tries; i++) {
    reply = await peer.admin(line);
    if (check(reply)) return reply;
    await new Promise((r) => setImmediate(r));
  }
  assert.fail(`admin "${line}" never gave the expected reply; last: ${JSON.stringify(reply)}`);
}
