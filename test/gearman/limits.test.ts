// Limits and malformed input at the edge (every limit is enforced at the edge and has a test; README,
// Where Lazaret differs: Bad input): each bad peer gets an ERROR, and only that peer's
// connection is affected.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketType, type PacketTypeName } from '../../src/protocol/packets.js';
import { encodePacket } from '../../src/protocol/encoder.js';
import { RawPeer } from '../helpers/gearman-client.js';
import type { TestServer } from '../helpers/server.js';
import { assertSilent, sync } from './util.js';
import { MAGIC_REQ, MAGIC_RES, rawHeader } from '../helpers/hostile-frames.js';
import { peerFor, serverFor } from '../helpers/server.js';

/** A job still flows end to end: the server and other connections are unaffected. */
async function stillServing(server: TestServer, label: string): Promise<void> {
  const client = await RawPeer.connect(server.gearmanPort);
  const worker = await RawPeer.connect(server.gearmanPort);
  try {
    const fn = `alive-${label}`;
    worker.send('CAN_DO', fn);
    const h = (await client.request('SUBMIT_JOB', [fn, '', 'ping'], 'JOB_CREATED')).text[0]!;
    assert.equal((await worker.request('GRAB_JOB', [], 'JOB_ASSIGN')).text[0], h);
    worker.send('WORK_COMPLETE', h, 'pong');
    assert.deepEqual((await client.next('WORK_COMPLETE')).text, [h, 'pong'], `server still serving after ${label}`);
  } finally {
    client.close();
    worker.close();
  }
}

test('maxFrameBytes: a declared length over the limit gets ERROR and a close; other connections and jobs go on', async (t) => {
  const server = await serverFor(t, { limits: { maxFrameBytes: 4096, maxPayloadBytes: 1024 } });
  const bystander = await peerFor(t, server);
  const waiting = (await bystander.request('SUBMIT_JOB', ['bf', 'keep', 'x'], 'JOB_CREATED')).text[0]!;
  const bad = await peerFor(t, server);
  // Header only: the server must refuse on the header, without waiting for 4097 bytes.
  bad.write(rawHeader(MAGIC_REQ, PacketType.SUBMIT_JOB, 4097));
  const e = await bad.next('ERROR');
  assert.equal(e.text[0], 'ARGUMENT_TOO_LARGE');
  assert.match(e.text[1]!, /4097.*4096/);
  await bad.waitClosed();
  const huge = await peerFor(t, server);
  huge.write(rawHeader(MAGIC_REQ, PacketType.ECHO_REQ, 0xffffffff));
  assert.equal((await huge.next('ERROR')).text[0], 'ARGUMENT_TOO_LARGE');
  await huge.waitClosed();
  // Exactly at the limit is fine.
  const ok = await peerFor(t, server);
  const body = Buffer.alloc(4096, 0x61);
  assert.ok((await ok.request('ECHO_REQ', [body], 'ECHO_RES')).args[0]!.equals(body));
  // The bystander's job is intact and still runs.
  const worker = await peerFor(t, server);
  worker.send('CAN_DO', 'bf');
  assert.equal((await worker.request('GRAB_JOB', [], 'JOB_ASSIGN')).text[0], waiting);
  worker.send('WORK_COMPLETE', waiting, 'fine');
  assert.deepEqual((await bystander.next('WORK_COMPLETE')).text, [waiting, 'fine']);
});

test('maxPayloadBytes: a larger workload is refused with ARGUMENT_TOO_LARGE; the connection stays usable', async (t) => {
  const server = await serverFor(t, { limits: { maxFrameBytes: 8192, maxPayloadBytes: 1000 } });
  const client = await peerFor(t, server);
  for (const form of ['SUBMIT_JOB', 'SUBMIT_JOB_BG', 'SUBMIT_JOB_HIGH_BG'] as const) {
    const e = await client.request(form, ['pl', '', Buffer.alloc(1001)], 'ERROR');
    assert.equal(e.text[0], 'ARGUMENT_TOO_LARGE');
    assert.match(e.text[1]!, /1001.*1000/);
  }
  await client.request('SUBMIT_JOB_BG', ['pl', '', Buffer.alloc(1000)], 'JOB_CREATED');
  assert.equal(await (await peerFor(t, server)).admin('status'), 'pl\t1\t0\t0\n.\n');
});

test('maxConnections: the connection over the limit gets an ERROR and is closed; a freed slot can be reused', async (t) => {
  const server = await serverFor(t, { limits: { maxConnections: 3 } });
  const peers = [await peerFor(t, server), await peerFor(t, server), await peerFor(t, server)];
  for (const p of peers) await sync(p);
  const extra = await peerFor(t, server);
  const e = await extra.next('ERROR');
  assert.equal(e.text[0], 'SERVER_BUSY');
  assert.match(e.text[1]!, /3/);
  await extra.waitClosed();
  for (const p of peers) await p.request('ECHO_REQ', ['still'], 'ECHO_RES');
  peers[0]!.close();
  await peers[0]!.waitClosed();
  for (let i = 0; ; i++) {
    const again = await peerFor(t, server);
    const r = await again.request('ECHO_REQ', ['in'], undefined).catch(() => null);
    if (r?.name === 'ECHO_RES') break;
    assert.ok(i < 100, 'the freed slot never became available');
  }
});

test('unique over 64 bytes: ERROR ARGUMENT_TOO_LARGE "Unique value too large"; 64 is accepted', async (t) => {
  const server = await serverFor(t);
  const client = await peerFor(t, server);
  for (const form of ['SUBMIT_JOB', 'SUBMIT_JOB_BG', 'SUBMIT_JOB_LOW', 'SUBMIT_JOB_HIGH_BG'] as const) {
    const e = await client.request(form, ['u', 'x'.repeat(65), 'p'], 'ERROR');
    assert.deepEqual(e.text, ['ARGUMENT_TOO_LARGE', 'Unique value too large']);
  }
  const e = await client.request('SUBMIT_JOB_EPOCH', ['u', 'y'.repeat(100), '0', 'p'], 'ERROR');
  assert.deepEqual(e.text, ['ARGUMENT_TOO_LARGE', 'Unique value too large']);
  const h = (await client.request('SUBMIT_JOB_BG', ['u', 'z'.repeat(64), 'p'], 'JOB_CREATED')).text[0];
  const st = await client.request('GET_STATUS_UNIQUE', ['z'.repeat(64)], 'STATUS_RES_UNIQUE');
  assert.deepEqual(st.text.slice(1), ['1', '0', '0', '0', '0'], `${h} is found by its whole unique`);
});

test('admin line over maxLineBytes: an ERR line, then the connection closes', async (t) => {
  const server = await serverFor(t, { limits: { maxLineBytes: 256 } });
  const admin = await peerFor(t, server);
  assert.equal(await admin.admin(`status ${'x'.repeat(200)}`), '.\n', 'under the limit');
  const long = await peerFor(t, server);
  const reply = await long.admin(`status ${'x'.repeat(300)}`);
  assert.match(reply, /^ERR LINE_TOO_LONG \S+\r\n$/);
  await long.waitClosed();
  // Without its LF, too: the server does not buffer a line forever.
  const endless = await peerFor(t, server);
  endless.write('y'.repeat(1000));
  await endless.waitClosed();
  await stillServing(server, 'long lines');
});

test('bad magic: ERROR INVALID_MAGIC and a close; \\0RES magic: ERROR "Request magic expected", connection kept', async (t) => {
  const server = await serverFor(t);
  const bad = await peerFor(t, server);
  bad.write(rawHeader(0x00414243, PacketType.ECHO_REQ, 0));
  assert.equal((await bad.next('ERROR')).text[0], 'INVALID_MAGIC');
  await bad.waitClosed();

  const res = await peerFor(t, server);
  res.write(rawHeader(MAGIC_RES, PacketType.ECHO_REQ, 2, Buffer.from('hi')));
  assert.deepEqual((await res.next('ERROR')).text, ['INVALID_MAGIC', 'Request magic expected']);
  res.write(encodePacket('RES', PacketType.SUBMIT_JOB, ['f', '', 'x']));
  assert.deepEqual((await res.next('ERROR')).text, ['INVALID_MAGIC', 'Request magic expected']);
  assert.equal((await res.request('ECHO_REQ', ['after'], 'ECHO_RES')).text[0], 'after');
  assert.equal(await (await peerFor(t, server)).admin('status'), '.\n', 'the \\0RES SUBMIT_JOB created nothing');
});

test('unknown packet types, including a bare 0x80000000 header (gearmand 1.1.20 crashes): ERROR and a close', async (t) => {
  const server = await serverFor(t);
  for (const type of [0x80000000, 0xffffffff, 0, 43, 1000]) {
    const peer = await peerFor(t, server);
    peer.write(rawHeader(MAGIC_REQ, type, 0));
    const e = await peer.next('ERROR');
    assert.equal(e.text[0], 'INVALID_COMMAND', `type ${type}`);
    assert.match(e.text[1]!, new RegExp(String(type >>> 0)));
    await peer.waitClosed();
  }
  await stillServing(server, 'unknown types');
});

test('malformed argument layout (too few NULs): ERROR and a close, nothing submitted', async (t) => {
  const server = await serverFor(t);
  const cases: [number, string][] = [
    [PacketType.SUBMIT_JOB, 'fn-only'],
    [PacketType.SUBMIT_JOB_BG, 'fn\0no-second-nul'],
    [PacketType.SUBMIT_JOB_EPOCH, 'fn\u0000u\u0000123'],
    [PacketType.SUBMIT_JOB_SCHED, 'fn\0u\0\0\0'],
    [PacketType.WORK_COMPLETE, 'H:test:1'],
    [PacketType.CAN_DO_TIMEOUT, 'fn'],
    [PacketType.WORK_STATUS, 'H:test:1\u00001'],
  ];
  for (const [type, body] of cases) {
    const peer = await peerFor(t, server);
    peer.write(rawHeader(MAGIC_REQ, type, Buffer.byteLength(body), Buffer.from(body)));
    const e = await peer.next('ERROR');
    assert.equal(e.text[0], 'INVALID_PACKET', `type ${type}`);
    await peer.waitClosed();
  }
  // The NUL search stops at the declared end: a following packet's NULs are not borrowed.
  const split = await peerFor(t, server);
  split.write(Buffer.concat([rawHeader(MAGIC_REQ, PacketType.SUBMIT_JOB_BG, 2, Buffer.from('fn')), encodePacket('REQ', PacketType.ECHO_REQ, ['a\0b\0c'])]));
  assert.equal((await split.next('ERROR')).text[0], 'INVALID_PACKET');
  await split.waitClosed();
  assert.equal(await (await peerFor(t, server)).admin('status'), '.\n');
  await stillServing(server, 'malformed layouts');
});

test('responses sent as requests: ERROR INVALID_COMMAND "Command not expected", connection kept', async (t) => {
  const server = await serverFor(t);
  const peer = await peerFor(t, server);
  const cases: [PacketTypeName, string[]][] = [
    ['UNUSED', []],
    ['NOOP', []],
    ['JOB_CREATED', ['H:x:1']],
    ['NO_JOB', []],
    ['JOB_ASSIGN', ['H:x:1', 'f', 'd']],
    ['ECHO_RES', ['e']],
    ['ERROR', ['CODE', 'text']],
    ['STATUS_RES', ['H:x:1', '1', '0', '0', '0']],
    ['OPTION_RES', ['exceptions']],
    ['JOB_ASSIGN_UNIQ', ['H:x:1', 'f', 'u', 'd']],
    ['JOB_ASSIGN_ALL', ['H:x:1', 'f', 'u', 'r', 'd']],
    ['STATUS_RES_UNIQUE', ['u', '1', '0', '0', '0', '2']],
  ];
  for (const [name, args] of cases) {
    const e = await peer.request(name, args, undefined);
    assert.deepEqual([e.name, ...e.text], ['ERROR', 'INVALID_COMMAND', 'Command not expected'], name);
  }
  await peer.request('ECHO_REQ', ['alive'], 'ECHO_RES');
});

test('work reports for handles the connection does not hold: ERROR JOB_NOT_FOUND with gearmand texts', async (t) => {
  const server = await serverFor(t);
  const client = await peerFor(t, server);
  const owner = await peerFor(t, server);
  const stranger = await peerFor(t, server);
  owner.send('CAN_DO', 'nf');
  stranger.send('CAN_DO', 'nf');
  const h = (await client.request('SUBMIT_JOB', ['nf', '', 'x'], 'JOB_CREATED')).text[0]!;
  await owner.request('GRAB_JOB', [], 'JOB_ASSIGN');
  const result = 'Job given in work result not found';
  const data = 'Job does not exist on server';
  const exception = 'An exception was received for a job that does not exist';
  for (const peer of [stranger, await peerFor(t, server)]) {
    for (const handle of ['H:test:999999', h]) {
      const expect: [PacketTypeName, string[], string][] = [
        ['WORK_COMPLETE', [handle, 'r'], result],
        ['WORK_FAIL', [handle], result],
        ['WORK_STATUS', [handle, '1', '2'], result],
        ['WORK_DATA', [handle, 'd'], data],
        ['WORK_WARNING', [handle, 'w'], data],
        ['WORK_EXCEPTION', [handle, 'e'], exception],
      ];
      for (const [name, args, text] of expect) {
        const e = await peer.request(name, args, undefined);
        assert.deepEqual([e.name, ...e.text], ['ERROR', 'JOB_NOT_FOUND', text], `${name} ${handle}`);
      }
    }
  }
  await assertSilent(client, 'reports from strangers are not forwarded');
  owner.send('WORK_COMPLETE', h, 'real');
  assert.deepEqual((await client.next('WORK_COMPLETE')).text, [h, 'real']);
});

test('absurd numbers in CAN_DO_TIMEOUT, WORK_STATUS and SUBMIT_JOB_EPOCH are handled', async (t) => {
  const server = await serverFor(t);
  const client = await peerFor(t, server);
  const worker = await peerFor(t, server);
  worker.send('CAN_DO_TIMEOUT', 'abs', '9'.repeat(21)); // over 20 bytes: ignored, as gearmand
  worker.send('CAN_DO_TIMEOUT', 'abs2', '99999999999999999999'); // clamped to the timer ceiling
  worker.send('CAN_DO_TIMEOUT', 'abs3', '-99999999999999999999');
  await assertSilent(worker, 'CAN_DO_TIMEOUT has no reply');
  for (const epoch of ['-1', '1e400', '0x10', '']) {
    await client.request('SUBMIT_JOB_EPOCH', ['abs2', '', epoch, `epoch ${epoch}`], 'JOB_CREATED');
  }
  for (const epoch of ['18446744073709551616', '253402300800']) {
    const e = await client.request('SUBMIT_JOB_EPOCH', ['abs2', '', epoch, 'never'], 'ERROR');
    assert.equal(e.text[0], 'INVALID_ARGUMENT', `epoch ${epoch} is after the year 9999`);
  }
  const h = (await client.request('SUBMIT_JOB', ['abs3', '', 'x'], 'JOB_CREATED')).text[0]!;
  worker.send('CAN_DO', 'abs3');
  const got = new Set<string>();
  for (let i = 0; i < 5; i++) got.add((await worker.request('GRAB_JOB', [], 'JOB_ASSIGN')).text[2]!);
  assert.equal(got.size, 5, 'every epoch job with a nonsense time ran at once');
  await worker.request('GRAB_JOB', [], 'NO_JOB');
  worker.send('WORK_STATUS', h, '99999999999999999999', '-1');
  const st = await client.next('WORK_STATUS');
  assert.deepEqual(st.text, [h, '99999999999999999999', '-1'], 'forwarded as sent');
  const status = await client.request('GET_STATUS', [h], 'STATUS_RES');
  for (const n of status.text.slice(3)) assert.match(n, /^\d+$/, 'stored as unsigned 32-bit numbers');
  assert.equal(await (await peerFor(t, server)).admin('status'), 'abs2\t4\t4\t1\nabs3\t1\t1\t1\n.\n');
});
