// The limits on flow: a peer that stops reading, a peer that pipelines faster than commits, and the
// default queue limit per function.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodePacket } from '../../src/protocol/encoder.js';
import { PacketType } from '../../src/protocol/packets.js';
import { peerFor, serverFor } from '../helpers/server.js';

test('maxOutputBytes: a peer that stops reading its replies is disconnected; others carry on', async (t) => {
  const server = await serverFor(t, { limits: { maxOutputBytes: 64 * 1024 } });
  const victim = await peerFor(t, server);
  const other = await peerFor(t, server);
  const admin = await peerFor(t, server);
  const line = (s: string): RegExp => new RegExp(`^${s} 127\\.0\\.0\\.1 `, 'm');
  victim.send('SET_CLIENT_ID', 'victim');
  assert.match(await admin.admin('workers'), /127\.0\.0\.1 victim :/);
  // Stop reading, then ask for far more than the kernel buffers and the limit can hold.
  victim.socket.pause();
  const chunk = Buffer.alloc(64 * 1024, 7);
  for (let i = 0; i < 400; i++) victim.send('ECHO_REQ', chunk);
  // Each admin reply is an event; the victim's line goes once the server has dropped it.
  for (let i = 0; i < 10_000; i++) {
    if (!/ victim :/.test(await admin.admin('workers'))) break;
  }
  assert.doesNotMatch(await admin.admin('workers'), / victim :/, 'the peer that does not read was disconnected');
  assert.equal((await other.request('ECHO_REQ', ['still here'], 'ECHO_RES')).text[0], 'still here');
  assert.match(await admin.admin('workers'), line('\\d+'));
});

test('maxPendingReplies: a connection pipelining faster than the store commits is paused, not refused; every reply comes, in order', async (t) => {
  const server = await serverFor(t, { limits: { maxPendingReplies: 4 } });
  const client = await peerFor(t, server);
  const n = 300;
  for (let i = 0; i < n; i++) client.send('SUBMIT_JOB_BG', 'flow', '', `job-${i}`);
  const handles: string[] = [];
  for (let i = 0; i < n; i++) handles.push((await client.next('JOB_CREATED')).text[0]!);
  assert.equal(new Set(handles).size, n, 'one handle per submission');
  const numbers = handles.map((h) => Number(h.slice(h.lastIndexOf(':') + 1)));
  assert.deepEqual(
    numbers,
    [...numbers].sort((a, b) => a - b),
    'JOB_CREATED in submission order',
  );
  assert.match(await client.admin('status'), new RegExp(`^flow\\t${n}\\t0\\t0$`, 'm'));
});

test('limits.maxQueue: the default queue limit per function refuses with QUEUE_ERROR; maxqueue overrides it', async (t) => {
  const server = await serverFor(t, { limits: { maxQueue: 2 } });
  const client = await peerFor(t, server);
  await client.request('SUBMIT_JOB_BG', ['capped', '', 'a'], 'JOB_CREATED');
  await client.request('SUBMIT_JOB_BG', ['capped', '', 'b'], 'JOB_CREATED');
  assert.deepEqual((await client.request('SUBMIT_JOB_BG', ['capped', '', 'c'], 'ERROR')).text, ['QUEUE_ERROR', 'Job queue is full']);
  assert.deepEqual((await client.request('SUBMIT_JOB', ['capped', '', 'c'], 'ERROR')).text, ['QUEUE_ERROR', 'Job queue is full']);
  // Another function has its own queue.
  await client.request('SUBMIT_JOB_BG', ['other', '', 'x'], 'JOB_CREATED');
  assert.equal(await client.admin('maxqueue capped 3'), 'OK\r\n');
  await client.request('SUBMIT_JOB_BG', ['capped', '', 'c'], 'JOB_CREATED');
  assert.deepEqual((await client.request('SUBMIT_JOB_BG', ['capped', '', 'd'], 'ERROR')).text, ['QUEUE_ERROR', 'Job queue is full']);
});

test('good packets before broken bytes in the same read are answered before the ERROR and the close', async (t) => {
  const server = await serverFor(t);
  const peer = await peerFor(t, server);
  const good = encodePacket('REQ', PacketType.ECHO_REQ, ['first']);
  const bad = Buffer.from('00bad0000000000000000000', 'hex'); // 12 bytes, magic \0\xba\xd0\0
  peer.write(Buffer.concat([good, bad]));
  assert.deepEqual((await peer.next('ECHO_RES')).text, ['first']);
  assert.equal((await peer.next('ERROR')).text[0], 'INVALID_MAGIC');
  await peer.waitClosed();
});
