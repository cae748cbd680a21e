// Bounds on what an anonymous peer of the Gearman port can hold: time for an unfinished packet, time to
// say who it is, memory for unfinished packets across all connections, connections per address, and
// connections against the file-descriptor limit. Short configured limits; the tests wait on closes and
// replies, never on a clock.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { PacketType } from '../../src/protocol/packets.js';
import { encodePacket } from '../../src/protocol/encoder.js';
import { connectionsAllowed, parseOpenFilesLimit } from '../../src/gearman/descriptors.js';
import { RawPeer } from '../helpers/gearman-client.js';
import { sync } from './util.js';
import { MAGIC_REQ, rawHeader } from '../helpers/hostile-frames.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

const ROOT = new URL('../../', import.meta.url).pathname;

test('frameTimeoutMs: a half-sent header or body gets ERROR TIMEOUT and a close; whole packets are unaffected', async (t) => {
  const server = await serverFor(t, { limits: { frameTimeoutMs: 300, identifyTimeoutMs: 0 } });
  const steady = await peerFor(t, server);
  await steady.request('ECHO_REQ', ['before'], 'ECHO_RES');

  const header = await peerFor(t, server);
  header.write(rawHeader(MAGIC_REQ, PacketType.SUBMIT_JOB_BG, 100).subarray(0, 7));
  const e = await header.next('ERROR', 10_000);
  assert.equal(e.text[0], 'TIMEOUT');
  assert.match(e.text[1]!, /not completed within 300 ms \(7 of 12 bytes/);
  await header.waitClosed();

  const body = await peerFor(t, server);
  body.write(rawHeader(MAGIC_REQ, PacketType.SUBMIT_JOB_BG, 100, Buffer.from('fn\0\0part')));
  assert.match((await body.next('ERROR', 10_000)).text[1]!, /\(20 of 112 bytes/);
  await body.waitClosed();

  const line = await peerFor(t, server);
  line.write('stat');
  await line.waitClosed(10_000);

  // A packet split over writes that completes is served; the idle but whole connection stays.
  const split = await peerFor(t, server);
  const frame = encodePacket('REQ', PacketType.ECHO_REQ, ['split']);
  split.write(frame.subarray(0, 5));
  split.write(frame.subarray(5));
  assert.equal((await split.next('ECHO_RES')).text[0], 'split');
  assert.equal((await steady.request('ECHO_REQ', ['after'], 'ECHO_RES')).text[0], 'after');
  assert.equal(await (await peerFor(t, server)).admin('status'), '.\n', 'nothing half-sent was submitted');
});

test('identifyTimeoutMs: a connection that sends nothing, or only echoes, is closed; clients, workers and admins stay', async (t) => {
  const server = await serverFor(t, { limits: { identifyTimeoutMs: 300, frameTimeoutMs: 0 } });
  // Identified first: their deadlines would have passed before the silent ones' do.
  const worker = await peerFor(t, server);
  worker.send('CAN_DO', 'idle-fn');
  await sync(worker);
  const client = await peerFor(t, server);
  await client.request('SUBMIT_JOB_BG', ['idle-fn', '', 'x'], 'JOB_CREATED');
  const admin = await peerFor(t, server);
  await admin.admin('version');

  const silent = await peerFor(t, server);
  const e = await silent.next('ERROR', 10_000);
  assert.deepEqual(e.text, ['TIMEOUT', 'No client, worker or admin request within 300 ms of connecting']);
  await silent.waitClosed();
  const echoer = await peerFor(t, server);
  await echoer.request('ECHO_REQ', ['ping'], 'ECHO_RES');
  await echoer.waitClosed(10_000);

  for (const p of [worker, client]) assert.equal((await p.request('ECHO_REQ', ['still'], 'ECHO_RES')).text[0], 'still');
  assert.match(await admin.admin('status'), /^idle-fn\t1\t0\t1\n/);
});

test('maxBufferedBytes: past the budget a new large packet gets ERROR SERVER_BUSY and a close; small ones flow; freed budget is reused', async (t) => {
  const big = 600 * 1024;
  const server = await serverFor(t, {
    limits: { maxBufferedBytes: 1024 * 1024, maxFrameBytes: 2 * 1024 * 1024, maxPayloadBytes: 1024 * 1024, frameTimeoutMs: 0, identifyTimeoutMs: 0 },
  });
  const head = (n: number): Buffer => rawHeader(MAGIC_REQ, PacketType.SUBMIT_JOB_BG, n, Buffer.from('budget\0\0'));

  const holder = await peerFor(t, server);
  await new Promise<void>((resolve) => holder.socket.write(head(big), () => resolve()));
  // A new connection's round trip is read after the holder's bytes, which were queued first.
  const refused = await peerFor(t, server);
  await sync(refused);
  refused.write(head(big));
  const e = await refused.next('ERROR');
  assert.equal(e.text[0], 'SERVER_BUSY');
  assert.match(e.text[1]!, /614412 byte packet refused, input budget of 1048576 bytes/);
  await refused.waitClosed();

  // Small packets are never refused, even with the budget spent.
  const small = await peerFor(t, server);
  await small.request('SUBMIT_JOB_BG', ['budget', '', Buffer.alloc(32 * 1024)], 'JOB_CREATED');

  // The holder finishes its packet: its job is created and the budget is free again.
  holder.write(Buffer.alloc(big - 8, 0x61));
  await holder.next('JOB_CREATED');
  const next = await peerFor(t, server);
  await next.request('SUBMIT_JOB_BG', ['budget', '', Buffer.alloc(big - 8)], 'JOB_CREATED');
  // A connection that closes mid-packet gives its share back too.
  const quitter = await peerFor(t, server);
  await new Promise<void>((resolve) => quitter.socket.write(head(big), () => resolve()));
  await sync(await peerFor(t, server));
  quitter.close();
  for (let i = 0; ; i++) {
    const again = await peerFor(t, server);
    again.write(Buffer.concat([head(big), Buffer.alloc(big - 8)]));
    const r = await again.next();
    if (r.name === 'JOB_CREATED') break;
    assert.ok(i < 50, 'the budget of a closed connection was never released');
  }
  assert.match(await (await peerFor(t, server)).admin('status'), /^budget\t4\t0\t0\n/);
});

test('maxFrameBytes also caps what one connection buffers for an unfinished packet', async (t) => {
  const server = await serverFor(t, { limits: { maxFrameBytes: 64 * 1024, maxPayloadBytes: 32 * 1024 } });
  const peer = await peerFor(t, server);
  peer.write(rawHeader(MAGIC_REQ, PacketType.SUBMIT_JOB_BG, 15 * 1024 * 1024));
  assert.equal((await peer.next('ERROR')).text[0], 'ARGUMENT_TOO_LARGE');
  await peer.waitClosed();
});

/** A raw connection from a chosen local address: its first reply, and whether the server closed it. */
async function fromAddress(port: number, localAddress: string): Promise<string> {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(encodePacket('REQ', PacketType.ECHO_REQ, ['hi']));
  const [chunk] = (await once(socket, 'data')) as [Buffer];
  socket.destroy();
  return chunk.subarray(12).toString();
}

test('maxConnectionsPerPeer: one address past its share gets ERROR SERVER_BUSY; other addresses still connect', async (t) => {
  const server = await serverFor(t, { limits: { maxConnectionsPerPeer: 2 } });
  const a = await peerFor(t, server);
  const b = await peerFor(t, server);
  await sync(a);
  await sync(b);
  const third = await peerFor(t, server);
  const e = await third.next('ERROR');
  assert.deepEqual(e.text, ['SERVER_BUSY', 'Too many connections from 127.0.0.1 (limit 2 per address)']);
  await third.waitClosed();
  assert.equal(await fromAddress(server.gearmanPort, '127.0.0.2'), 'hi', 'another address is not affected');
  // A freed slot is the address's again.
  a.close();
  await a.waitClosed();
  for (let i = 0; ; i++) {
    const again = await RawPeer.connect(server.gearmanPort);
    t.after(() => again.close());
    const r = await again.request('ECHO_REQ', ['back'], undefined).catch(() => null);
    if (r?.name === 'ECHO_RES') break;
    assert.ok(i < 100, 'the freed slot never became available');
  }
});

test('maxConnectionsPerPeer over IPv6: counted for ::1 as for any address', async (t) => {
  const server = await serverFor(t, { host: '::1', limits: { maxConnectionsPerPeer: 2 } }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRNOTAVAIL' || err.code === 'EAFNOSUPPORT') return null;
    throw err;
  });
  if (server === null) return t.skip('no IPv6 loopback on this machine');
  await sync(await peerFor(t, server, '::1'));
  await sync(await peerFor(t, server, '::1'));
  const third = await peerFor(t, server, '::1');
  assert.deepEqual((await third.next('ERROR')).text, ['SERVER_BUSY', 'Too many connections from ::1 (limit 2 per address)']);
  await third.waitClosed();
});

test('descriptor limit: parsed from /proc/self/limits; connections allowed keep the reserve free', () => {
  const text =
    'Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 524288               files     \n';
  assert.equal(parseOpenFilesLimit(text), 1024);
  assert.equal(parseOpenFilesLimit(text.replace('1024 ', 'unlimited ')), null);
  assert.equal(parseOpenFilesLimit(''), null);
  assert.equal(connectionsAllowed(10_000, { limit: 1024, open: 24 }, 128), 872);
  assert.equal(connectionsAllowed(100, { limit: 1024, open: 24 }, 128), 100);
  assert.equal(connectionsAllowed(100, { limit: 100, open: 24 }, 128), 0);
  assert.equal(connectionsAllowed(100, null, 128), 100);
});

test('descriptor limit: under a low ulimit -n the server warns at start, refuses past it with SERVER_BUSY, and /health still answers', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lazaret-fd-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'config.json'), JSON.stringify({ limits: { reservedDescriptors: 150 } }));
  const child = spawn(
    'sh',
    ['-c', `ulimit -n 200 && exec "${process.execPath}" dist/cli/main.js serve -c "${dir}/config.json" --port 0 --http-port 0 --db "${dir}/db.sqlite"`],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  t.after(() => void child.kill('SIGKILL'));
  let out = '';
  const logged = (pred: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        for (const raw of out.split('\n')) {
          if (!raw.startsWith('{')) continue;
          const line = JSON.parse(raw) as Record<string, unknown>;
          if (pred(line)) {
            resolve(line);
            return true;
          }
        }
        return false;
      };
      if (check()) return;
      const onData = (): void => void (check() && child.stdout.off('data', onData));
      child.stdout.on('data', onData);
      child.once('close', () => reject(new Error(`server exited; output:\n${out}`)));
    });
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const warning = await logged((l) => l.code === 'LAZ_DESCRIPTOR_LIMIT');
  const allowed = warning.allowed as number;
  assert.equal(warning.ulimit, 200);
  assert.ok(allowed > 0 && allowed < 50, `allowed ${allowed}`);
  assert.match(String(warning.msg), /raise ulimit -n or lower limits\.maxConnections/);
  const started = await logged((l) => typeof l.gearman === 'string');
  const port = Number(String(started.gearman).split(':').pop());
  const httpPort = Number(String(started.http).split(':').pop());

  const peers: RawPeer[] = [];
  t.after(() => peers.forEach((p) => p.close()));
  for (let i = 0; i < allowed; i++) {
    const p = await RawPeer.connect(port);
    peers.push(p);
    await sync(p);
  }
  const over = await RawPeer.connect(port);
  peers.push(over);
  assert.deepEqual((await over.next('ERROR')).text, ['SERVER_BUSY', `Too many connections (limit ${allowed})`]);
  await logged((l) => l.code === 'LAZ_TOO_MANY_CONNECTIONS');
  const health = await fetch(`http://127.0.0.1:${httpPort}/health`);
  assert.equal(health.status, 200);
  await health.arrayBuffer();
});

test('descriptor limit: an HTTP flood under a low ulimit -n leaves the Gearman port and the store working', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lazaret-fd-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const child = spawn('sh', ['-c', `ulimit -n 200 && exec "${process.execPath}" dist/cli/main.js serve --port 0 --http-port 0 --db "${dir}/db.sqlite"`], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => void child.kill('SIGKILL'));
  const lines: Record<string, unknown>[] = [];
  let rest = '';
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (c: Buffer) => {
    const parts = (rest + c.toString()).split('\n');
    rest = parts.pop()!;
    for (const raw of parts) if (raw.startsWith('{')) lines.push(JSON.parse(raw) as Record<string, unknown>);
    for (const w of waiters.splice(0)) w();
  });
  const logged = async (pred: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
    for (;;) {
      const found = lines.find(pred);
      if (found) return found;
      if (child.exitCode !== null) throw new Error(`server exited: ${JSON.stringify(lines)}`);
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  const started = await logged((l) => typeof l.gearman === 'string');
  // Logged before the listening line.
  const warning = lines.find((l) => l.code === 'LAZ_DESCRIPTOR_LIMIT' && /http\.maxConnections/.test(String(l.msg)));
  assert.ok(warning !== undefined && (warning.allowed as number) < 200, JSON.stringify(lines));
  const port = Number(String(started.gearman).split(':').pop());
  const httpPort = Number(String(started.http).split(':').pop());

  // More half-sent HTTP requests than the process has descriptors.
  const flood: Socket[] = [];
  for (let i = 0; i < 250; i++) {
    const s = connect(httpPort, '127.0.0.1');
    s.on('error', () => {});
    flood.push(s);
    await once(s, 'connect');
    s.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  }
  t.after(() => flood.forEach((s) => s.destroy()));
  const peer = await RawPeer.connect(port);
  t.after(() => peer.close());
  assert.match(await peer.admin('version'), /^OK /, 'the Gearman port still accepts and answers');
  for (const s of flood) s.destroy();
  // Node closes the flood's connections one turn after they go: ask until one is free.
  const status = await eventually(async () => {
    try {
      const health = await fetch(`http://127.0.0.1:${httpPort}/health`);
      await health.arrayBuffer();
      return health.status;
    } catch {
      return undefined;
    }
  }, '/health once the flood left');
  assert.equal(status, 200);
});
