// Wrong HTTP bearer tokens are logged at warn with the peer and the route, as wrong Gearman admin tokens
// are; a missing token is not. A guesser cannot fill the log: per peer, one line per window and one
// summary with the count of the rest.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import pino from 'pino';
import { ManualClock } from '../../src/core/clock.js';
import { AUTH_FAILURE_WINDOW_MS, AuthFailureLog } from '../../src/http/auth-failures.js';
import { startServer } from '../../src/server.js';
import { testConfig } from '../helpers/server.js';
import { freshSqlite } from '../helpers/store.js';

type Line = Record<string, unknown> & { level: number; msg: string };
const TOKEN = 'the-right-admin-token';
const REFUSED = 'HTTP request refused: wrong bearer token';
const SUMMARY = 'HTTP requests refused: more wrong bearer tokens from this peer (counted, not logged one by one)';

function capture(): { logger: pino.Logger; lines: Line[] } {
  const lines: Line[] = [];
  return { logger: pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) }), lines };
}

async function guardedServer(t: TestContext): Promise<{ url: string; lines: Line[]; clock: ManualClock }> {
  const { logger, lines } = capture();
  const clock = new ManualClock();
  const db = await freshSqlite();
  const server = await startServer(testConfig({ trustLoopback: false, adminToken: TOKEN, httpPort: 0 }, db.path), { logger, clock });
  t.after(async () => {
    await server.stop({ graceMs: 0 });
    await db.cleanup();
  });
  return { url: `http://127.0.0.1:${server.httpPort}`, lines, clock };
}

const authLines = (lines: Line[]): Line[] => lines.filter((l) => l.msg === REFUSED || l.msg === SUMMARY);

test('a wrong bearer token is logged at warn with the peer and the route; a missing or right one is not', async (t) => {
  const { url, lines } = await guardedServer(t);
  assert.equal((await fetch(`${url}/api/quarantine`)).status, 401);
  assert.deepEqual(authLines(lines), [], 'a missing token is not a guess');
  assert.equal((await fetch(`${url}/api/quarantine`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
  assert.deepEqual(authLines(lines), []);

  assert.equal((await fetch(`${url}/%61pi/quarantine?x=1`, { headers: { authorization: 'Bearer not-the-token' } })).status, 401);
  const logged = authLines(lines);
  assert.equal(logged.length, 1);
  const line = logged[0]!;
  assert.equal(line.msg, REFUSED);
  assert.equal(line.level, 40);
  assert.equal(line.peer, '127.0.0.1');
  assert.equal(line.route, '/api/quarantine', 'the matched route, not the raw URL');
  assert.equal(line.method, 'GET');
  assert.ok(!JSON.stringify(line).includes('not-the-token'), 'the guess itself is not logged');
});

test('100 wrong tokens from one peer make two lines: the first, then one summary with the count', async (t) => {
  const { url, lines, clock } = await guardedServer(t);
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${url}/api/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer guess-${i}`, 'content-type': 'application/json' },
      body: '{"function":"f"}',
    });
    assert.equal(res.status, 401);
  }
  assert.equal(authLines(lines).length, 1, 'the rest are counted, not logged');
  clock.advance(AUTH_FAILURE_WINDOW_MS);
  const logged = authLines(lines);
  assert.equal(logged.length, 2);
  assert.equal(logged[1]!.msg, SUMMARY);
  assert.equal(logged[1]!.suppressed, 99);
  assert.equal(logged[1]!.lastRoute, 'POST /api/jobs');
  // A guesser that keeps going still gets one line per window.
  for (let i = 0; i < 10; i++) await fetch(`${url}/api/quarantine`, { headers: { authorization: 'Bearer again' } });
  clock.advance(AUTH_FAILURE_WINDOW_MS);
  assert.deepEqual(
    authLines(lines).map((l) => [l.msg, l.suppressed]),
    [
      [REFUSED, undefined],
      [SUMMARY, 99],
      [SUMMARY, 10],
    ],
  );
});

test('peers beyond the tracked number share one summary line', () => {
  const { logger, lines } = capture();
  const clock = new ManualClock();
  const log = new AuthFailureLog(logger, clock, 1000, 5);
  for (let i = 0; i < 50; i++) log.record({ peer: `10.0.0.${i}`, method: 'GET', route: '/api/jobs', tokenConfigured: true });
  assert.equal(lines.length, 5);
  clock.advance(1000);
  assert.equal(lines.length, 6);
  assert.equal(lines[5]!.suppressed, 45);
  // Once their windows are over, new peers are tracked (and logged) again.
  log.record({ peer: '10.0.1.1', method: 'GET', route: '/api/jobs', tokenConfigured: true });
  assert.equal(lines.length, 7);
  assert.equal(lines[6]!.peer, '10.0.1.1');
  log.close();
});

test('one IPv6 /64 is one peer: a guesser cannot write a line per address', () => {
  const { logger, lines } = capture();
  const clock = new ManualClock();
  const log = new AuthFailureLog(logger, clock, 1000);
  for (let i = 1; i <= 100; i++) log.record({ peer: `2001:db8:1:2::${i.toString(16)}`, method: 'GET', route: '/api/jobs', tokenConfigured: true });
  assert.equal(lines.length, 1);
  clock.advance(1000);
  assert.deepEqual([lines[1]!.peer, lines[1]!.suppressed], ['2001:db8:1:2::/64', 99]);
  log.close();
});
