// Guessing the admin token: each wrong `auth` is logged with the peer, and the connection is closed
// after a few. Token comparison does not depend on the token's length.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { tokenEquals } from '../../src/access.js';
import { MAX_AUTH_FAILURES } from '../../src/gearman/handlers/admin.js';
import { startServer } from '../../src/server.js';
import { freshSqlite } from '../helpers/store.js';
import { peerFor, testConfig } from '../helpers/server.js';

type Line = Record<string, unknown> & { level: number; msg: string };
const TOKEN = 'the-right-admin-token';

test('wrong admin tokens are logged with the peer; the fifth closes the connection', async (t) => {
  const lines: Line[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  const db = await freshSqlite();
  const server = await startServer(testConfig({ trustLoopback: false, adminToken: TOKEN }, db.path), { logger });
  t.after(async () => {
    await server.stop({ graceMs: 0 });
    await db.cleanup();
  });
  const guesser = await peerFor(t, server.gearmanPort);
  for (let i = 1; i < MAX_AUTH_FAILURES; i++) assert.equal(await guesser.admin(`auth guess-${i}`), 'ERR PERMISSION_DENIED bad+admin+token\r\n');
  assert.equal(guesser.closed, false);
  assert.equal(await guesser.admin('auth last-guess'), 'ERR PERMISSION_DENIED bad+admin+token\r\n', 'the last answer still arrives');
  await guesser.waitClosed();

  const failures = lines.filter((l) => l.msg === 'admin auth failed: wrong token');
  assert.equal(failures.length, MAX_AUTH_FAILURES);
  assert.ok(
    failures.every((l) => l.level === 40 && l.peer === '127.0.0.1'),
    JSON.stringify(failures[0]),
  );
  assert.deepEqual(
    failures.map((l) => l.failures),
    [1, 2, 3, 4, 5],
  );
  assert.ok(!JSON.stringify(lines).includes('guess-'), 'the guesses themselves are not logged');
  assert.ok(lines.some((l) => l.msg === 'admin connection closed after too many wrong tokens'));

  // Another connection starts afresh, and the right token still works there.
  const admin = await peerFor(t, server.gearmanPort);
  assert.equal(await admin.admin('auth nope'), 'ERR PERMISSION_DENIED bad+admin+token\r\n');
  assert.equal(await admin.admin(`auth ${TOKEN}`), 'OK\r\n');
  assert.equal(await admin.admin('create function f'), 'OK\r\n');
});

test('token comparison takes any length and any characters', () => {
  assert.equal(tokenEquals(TOKEN, TOKEN), true);
  assert.equal(tokenEquals('', TOKEN), false);
  assert.equal(tokenEquals(TOKEN.slice(0, -1), TOKEN), false);
  assert.equal(tokenEquals(`${TOKEN}x`, TOKEN), false);
  assert.equal(tokenEquals('x'.repeat(1 << 16), TOKEN), false);
  assert.equal(tokenEquals('jeton-très-secret-ü', 'jeton-très-secret-ü'), true);
});
