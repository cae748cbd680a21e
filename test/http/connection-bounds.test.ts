// Bounds on the HTTP port itself: connections open at once (http.maxConnections) and the time to send
// one request (http.requestTimeoutMs), so a flood or a slow sender cannot hold the port.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { httpServer } from './helpers.js';

interface Peer {
  socket: Socket;
  /** What the server sent before the connection closed; watched from the start, as it may close at once. */
  closed: Promise<string>;
}

/** Destroyed by the caller: the server's close waits for open connections, and t.after hooks run in order. */
async function openSocket(port: number): Promise<Peer> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (c: string) => (text += c));
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(text)));
  await Promise.race([once(socket, 'connect'), closed]);
  return { socket, closed };
}

test('connections past http.maxConnections are closed as they arrive; the port serves again once some leave', async (t) => {
  const server = await httpServer(t, { http: { maxConnections: 3 } });
  const port = server.httpPort!;
  const held = [await openSocket(port), await openSocket(port), await openSocket(port)];
  const extra = await openSocket(port);
  extra.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  assert.equal(await extra.closed, '', 'closed without an answer');

  held[0]!.socket.destroy();
  // The server learns of the close asynchronously; no event tells the test when.
  for (let i = 0; ; i++) {
    const probe = await openSocket(port);
    probe.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    if ((await probe.closed).startsWith('HTTP/1.1 200')) break;
    assert.ok(i < 200, 'the port serves again');
    await delay(10);
  }
  for (const p of held) p.socket.destroy();
});

test('a request not fully sent within http.requestTimeoutMs gets 408 and its connection is closed', async (t) => {
  const server = await httpServer(t, { http: { requestTimeoutMs: 300 } });
  const slow = await openSocket(server.httpPort!);
  slow.socket.write('POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"function":');
  assert.match(await slow.closed, /^HTTP\/1\.1 408/);
  assert.equal(server.engine.functions.size, 0);
});

test('a connection that sends nothing for http.idleTimeoutMs is closed', async (t) => {
  const server = await httpServer(t, { http: { idleTimeoutMs: 300 } });
  const quiet = await openSocket(server.httpPort!);
  assert.equal(await quiet.closed, '');
});
