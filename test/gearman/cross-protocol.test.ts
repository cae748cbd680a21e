// A web page can make a browser post to the Gearman port; the body's lines must never run as admin
// commands with loopback's trust. A real HTTP client posts admin lines to the port of a real server.

import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import pino from 'pino';
import { ErrorCode } from '../../src/errors.js';
import { startServer } from '../../src/server.js';
import { freshSqlite } from '../helpers/store.js';
import { peerFor, testConfig } from '../helpers/server.js';

type Line = Record<string, unknown> & { level: number; msg: string };

/** Posts `body` as a browser's form would, and resolves once the connection is gone, however it ended. */
function post(port: number, body: string): Promise<void> {
  return new Promise((resolve) => {
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'text/plain', origin: 'http://evil.example', 'content-length': Buffer.byteLength(body) },
    });
    req.on('response', (res) => res.resume());
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.end(body);
  });
}

test('an HTTP request on the Gearman port is closed at its request line: none of its body runs as admin commands', async (t) => {
  const lines: Line[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  const db = await freshSqlite();
  // Loopback trust on (the default): the body's `shutdown` would otherwise be obeyed.
  const server = await startServer(testConfig({}, db.path), { logger });
  t.after(async () => {
    await server.stop({ graceMs: 0 });
    await db.cleanup();
  });

  await post(server.gearmanPort, 'create function victim\nmaxqueue victim 1\nshutdown\n');

  const admin = await peerFor(t, server.gearmanPort);
  assert.equal(await admin.admin('status'), '.\n', 'no function was created');
  assert.match(await admin.admin('version'), /^OK /, 'the server is still up');
  const refused = lines.find((l) => l.code === ErrorCode.HTTP_ON_GEARMAN);
  assert.ok(refused !== undefined && refused.level === 40 && refused.peer === '127.0.0.1', JSON.stringify(lines.slice(-3)));

  // A Host header alone (a request line split oddly) ends the connection too; admin lines are unaffected.
  const peer = await peerFor(t, server.gearmanPort);
  await assert.rejects(peer.admin('Host: 127.0.0.1:4730'));
  await peer.waitClosed();
  assert.equal(await admin.admin('create function kept'), 'OK\r\n');
});
