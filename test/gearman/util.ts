// Shared steps for the gearman server tests: a server and peers that are always stopped, event waits
// with a timeout that names what was awaited, and a way to prove that nothing else was sent.

import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { EngineEvents } from '../../src/core/events.js';
import type { Clock } from '../../src/core/clock.js';
import { waitEvent as waitEngineEvent, type EventName } from '../helpers/events.js';
import { RawPeer, type Received } from '../helpers/gearman-client.js';
import { startTestServer, type ConfigPatch, type TestServer } from '../helpers/server.js';

export async function serverFor(t: TestContext, patch: ConfigPatch = {}, opts: { clock?: Clock } = {}): Promise<TestServer> {
  const server = await startTestServer(patch, opts);
  t.after(() => server.dispose());
  return server;
}

export async function peerFor(t: TestContext, server: { gearmanPort: number }, host?: string): Promise<RawPeer> {
  const peer = await RawPeer.connect(server.gearmanPort, host);
  // Real client libraries set TCP_NODELAY; without it a reply-less packet (WORK_COMPLETE) followed by
  // another waits for a delayed ACK.
  peer.socket.setNoDelay(true);
  t.after(() => peer.close());
  return peer;
}

/** Resolves with the arguments of the server's next `event` that satisfies `pred`. */
export function waitEvent<K extends EventName>(
  server: TestServer,
  event: K,
  pred: (...args: EngineEvents[K]) => boolean = () => true,
  timeoutMs = 5000,
): Promise<EngineEvents[K]> {
  return waitEngineEvent(server.engine, event, pred, timeoutMs);
}

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

/** A frame with an arbitrary header, for bytes the real encoder refuses to build. */
export function rawHeader(magic: number, type: number, length: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt32BE(magic >>> 0, 0);
  head.writeUInt32BE(type >>> 0, 4);
  head.writeUInt32BE(length >>> 0, 8);
  return Buffer.concat([head, body]);
}

export const MAGIC_REQ = 0x00524551;
export const MAGIC_RES = 0x00524553;
