// Timeouts. A delivery that runs past its timeout (policy, or the worker's CAN_DO_TIMEOUT) ends
// as timed_out; what its worker says afterwards is ignored without an ERROR; the job is retried, and
// after maxCrashes timeouts it is quarantined as timed_out. Time moves only when the test says so.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { assertNothingElse, grab, submitBg } from './helpers.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { recordEvents, waitEvent } from '../helpers/events.js';

const BACKOFF = { type: 'fixed' as const, base: 100, cap: 100, jitter: false };

test('policy timeout: timed_out attempts, late answers ignored, retried, then quarantined as timed_out', async (t) => {
  const clock = new ManualClock();
  const server = await serverFor(t, { policies: [{ match: 'slow', timeout: 1000, backoff: BACKOFF }] }, { clock });
  const completions = recordEvents(t, server.engine, 'job:completed');
  const client = await peerFor(t, server.gearmanPort);
  const handle = await submitBg(client, 'slow', 'report', 'slow-1');
  const quarantined = waitEvent(server.engine, 'job:quarantined', (e) => e.handle === handle);

  for (let n = 1; n <= 3; n++) {
    const worker = await peerFor(t, server.gearmanPort);
    worker.send('SET_CLIENT_ID', `slow-worker-${n}`);
    worker.send('CAN_DO', 'slow');
    if (n > 1) clock.advance(BACKOFF.base); // the retry's backoff
    assert.equal((await grab(worker)).text[0], handle, `delivery ${n}`);

    const ended = waitEvent(server.engine, 'attempt:ended', (job) => job.handle === handle);
    clock.advance(999);
    assert.equal((await server.engine.status(handle)).running, true, 'still within its timeout');
    clock.advance(1);
    const [, attempt] = await ended;
    assert.deepEqual([attempt.n, attempt.outcome, attempt.worker], [n, 'timed_out', `slow-worker-${n}`]);
    assert.match(attempt.error ?? '', /timeout of 1000 ms/);

    // The first worker finishes after all: its answer is ignored and logged, and it gets no ERROR.
    const ignored = waitEvent(server.engine, 'report:ignored', (h) => h === handle);
    worker.send('WORK_STATUS', handle, '1', '1');
    worker.send('WORK_COMPLETE', handle, 'too late');
    const [, by, packet] = await ignored;
    assert.equal(by, `slow-worker-${n}`);
    assert.equal(packet, 'WORK_STATUS');
    await assertNothingElse(worker);
    assert.equal(completions.length, 0, 'a late WORK_COMPLETE does not complete the job');
  }

  const [entry] = await quarantined;
  assert.equal(entry.reason, 'timed_out');
  assert.deepEqual(
    entry.attempts.map((a) => a.outcome),
    ['timed_out', 'timed_out', 'timed_out'],
  );
  assert.equal(server.engine.jobCount, 0);
});

test('CAN_DO_TIMEOUT from the worker applies like a policy timeout', async (t) => {
  const clock = new ManualClock();
  const server = await serverFor(t, { policies: [{ match: '*', backoff: BACKOFF }] }, { clock });
  const client = await peerFor(t, server.gearmanPort);
  const handle = await submitBg(client, 'encode', 'video');
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO_TIMEOUT', 'encode', '2000');
  assert.equal((await grab(worker)).text[0], handle);

  const ended = waitEvent(server.engine, 'attempt:ended', (job) => job.handle === handle);
  const retried = waitEvent(server.engine, 'job:retry', (job) => job.handle === handle);
  clock.advance(1999);
  assert.equal((await server.engine.status(handle)).running, true);
  clock.advance(1);
  assert.equal((await ended)[1].outcome, 'timed_out');
  await retried;

  // The late answer is ignored; the retry runs on a worker that answers in time and completes.
  const ignored = waitEvent(server.engine, 'report:ignored', (h) => h === handle);
  worker.send('WORK_COMPLETE', handle, 'late');
  await ignored;
  await assertNothingElse(worker);
  clock.advance(BACKOFF.base);
  const done = waitEvent(server.engine, 'job:completed', (job) => job.handle === handle);
  const again = await grab(worker);
  assert.equal(again.text[0], handle);
  worker.send('WORK_COMPLETE', handle, 'in time');
  const [job] = await done;
  assert.deepEqual(
    job.history.map((a) => a.outcome),
    ['timed_out', 'completed'],
  );
});

test("a report for a handle the worker never held still gets gearmand's ERROR", async (t) => {
  const server = await serverFor(t);
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'x');
  worker.send('WORK_COMPLETE', 'H:test:999999', 'nope');
  const err = await worker.next('ERROR');
  assert.equal(err.text[0], 'JOB_NOT_FOUND');
});
