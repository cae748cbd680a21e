// A worker whose attempt timed out and that never answered is stuck: it gets no job, it does not count as
// serving its functions (admin `status`, /health), and /health stays red naming it until it answers for
// that job or disconnects. Raw sockets; time moves only when the test says so.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { api, checkOf, health, healthWith, httpServer } from '../http/helpers.js';
import { assertNothingElse, grab, grabNothing, submitBg } from './helpers.js';
import { peerFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';

const BACKOFF = { type: 'fixed' as const, base: 100, cap: 100, jitter: false };

test('a worker whose attempt timed out is stuck until it answers: no job, not counted, /health red naming it', async (t) => {
  const clock = new ManualClock();
  // A job timeout alone, as in the README: no hangAfter rule.
  const server = await httpServer(t, { policies: [{ match: 'resize', timeout: 1000, backoff: BACKOFF }] }, clock);
  const client = await peerFor(t, server.gearmanPort);
  const hangs = await submitBg(client, 'resize', 'hangs forever', 'hang-1');

  const hung = await peerFor(t, server.gearmanPort);
  hung.send('SET_CLIENT_ID', 'php-hung');
  hung.send('CAN_DO', 'resize');
  assert.equal((await grab(hung)).text[0], hangs);

  const stuck = waitEvent(server.engine, 'worker:stuck', (w) => w.conn.name === 'php-hung');
  clock.advance(1000);
  const [, info] = await stuck;
  assert.equal(info.handle, hangs);

  // The retry is due; the stuck worker is not given it, nor woken for it.
  clock.advance(BACKOFF.base);
  await grabNothing(hung);
  hung.send('PRE_SLEEP');
  await assertNothingElse(hung);

  const admin = await peerFor(t, server.gearmanPort);
  assert.match(await admin.admin('status'), /^resize\t1\t0\t0$/m, 'admin status counts only workers that can take a job');

  let now = await health(server);
  assert.equal(now.status, 503);
  const hangCheck = checkOf(now.body, 'hung', 'resize');
  assert.equal(hangCheck.state, 'fail');
  assert.match(hangCheck.reason, /1 worker stuck .*php-hung \(pid \d+\) on H:\S+ for 1\.1 s/);
  // Still red later, however long it takes, and the function counts as unserved after 30 s.
  clock.advance(30_000);
  now = await health(server);
  assert.equal(checkOf(now.body, 'hung', 'resize').state, 'fail');
  assert.match(checkOf(now.body, 'unserved', 'resize').reason, /no worker available \(1 stuck worker\) for 30 s/);

  const { body } = await api<{ workers: { name: string; stuck: { handle: string; function: string; stuckMs: number } | null }[] }>(
    server.url,
    'GET',
    '/api/workers',
  );
  assert.deepEqual(
    body.workers.map((w) => [w.name, w.stuck?.handle, w.stuck?.function, w.stuck?.stuckMs]),
    [['php-hung', hangs, 'resize', 30_100]],
  );
  const fns = await api<{ functions: { name: string; workers: number; stuckWorkers: number }[] }>(server.url, 'GET', '/api/functions');
  assert.deepEqual(
    fns.body.functions.map((f) => [f.name, f.workers, f.stuckWorkers]),
    [['resize', 0, 1]],
  );

  // Another worker takes the retry at once.
  const healthy = await peerFor(t, server.gearmanPort);
  healthy.send('CAN_DO', 'resize');
  assert.equal((await grab(healthy)).text[0], hangs);
  const done = waitEvent(server.engine, 'job:completed', (j) => j.handle === hangs);
  healthy.send('WORK_COMPLETE', hangs, 'ok');
  await done;

  // The stuck worker finally answers (ignored for the job's outcome): it takes jobs again and is woken.
  const unstuck = waitEvent(server.engine, 'worker:unstuck', (w) => w.conn.name === 'php-hung');
  hung.send('WORK_COMPLETE', hangs, 'too late');
  assert.equal((await unstuck)[1], 'answered');
  await assertNothingElse(hung);
  const next = await submitBg(client, 'resize', 'next', 'next-1');
  await hung.next('NOOP');
  assert.equal((await grab(hung)).text[0], next);
  now = await health(server);
  assert.equal(now.status, 200, JSON.stringify(now.body.checks));
});

test('a stuck worker is freed when it disconnects; a WORK_STATUS from it does not free it', async (t) => {
  const clock = new ManualClock();
  const server = await httpServer(t, { policies: [{ match: 'encode', maxCrashes: 1 }] }, clock);
  const client = await peerFor(t, server.gearmanPort);
  const handle = await submitBg(client, 'encode', 'video');
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO_TIMEOUT', 'encode', '2000');
  assert.equal((await grab(worker)).text[0], handle);
  const quarantined = waitEvent(server.engine, 'job:quarantined', (e) => e.handle === handle);
  clock.advance(2000);
  // With one worker and maxCrashes 1, the job reaches quarantine as timed_out all the same.
  assert.equal((await quarantined)[0].reason, 'timed_out');

  const ignored = waitEvent(server.engine, 'report:ignored', (h) => h === handle);
  worker.send('WORK_STATUS', handle, '1', '2');
  await ignored;
  await submitBg(client, 'encode', 'second');
  await grabNothing(worker);
  const now = await health(server);
  assert.equal(now.status, 503);
  assert.match(checkOf(now.body, 'hung', 'encode').reason, /worker stuck/);

  const freed = waitEvent(server.engine, 'worker:unstuck', () => true);
  worker.socket.destroy();
  assert.equal((await freed)[1], 'disconnected');
  const after = await health(server);
  assert.equal(
    after.body.checks.some((c) => c.name === 'hung'),
    false,
    'nothing runs and nobody is stuck',
  );
});

test('a minWorkers rule counts only workers that are not stuck', async (t) => {
  const clock = new ManualClock();
  const server = await httpServer(t, { policies: [{ match: 'mail', timeout: 500 }], health: healthWith([{ function: 'mail', minWorkers: 1 }]) }, clock);
  const client = await peerFor(t, server.gearmanPort);
  const handle = await submitBg(client, 'mail', 'm');
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'mail');
  assert.equal((await grab(worker)).text[0], handle);
  assert.equal(checkOf((await health(server)).body, 'workers', 'mail').state, 'ok');
  const stuck = waitEvent(server.engine, 'worker:stuck', () => true);
  clock.advance(500);
  await stuck;
  const workers = checkOf((await health(server)).body, 'workers', 'mail');
  assert.equal(workers.state, 'fail');
  assert.match(workers.reason, /0 workers connected and not stuck \(1 stuck\)/);
});
