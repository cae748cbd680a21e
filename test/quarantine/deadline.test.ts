// Deadlines. A job with a deadline (policy ttl) never starts after it: it is quarantined as
// expired, and a waiting foreground client gets WORK_FAIL at once.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { assertNothingElse, grab, grabNothing, jobIdOf, submitBg } from './helpers.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';

test('past its ttl a job is quarantined as expired, and its waiting client gets WORK_FAIL at once', async (t) => {
  const clock = new ManualClock();
  const server = await serverFor(t, { policies: [{ match: 'report', ttl: 5000 }] }, { clock });
  const client = await peerFor(t, server.gearmanPort);
  const submittedAt = clock.now();
  const fg = (await client.request('SUBMIT_JOB', ['report', 'fg-report', 'q3'], 'JOB_CREATED')).text[0]!;
  const bg = await submitBg(client, 'report', 'q4', 'bg-report');
  const quarantinedFg = waitEvent(server.engine, 'job:quarantined', (e) => e.handle === fg);
  const quarantinedBg = waitEvent(server.engine, 'job:quarantined', (e) => e.handle === bg);

  clock.advance(4999);
  await assertNothingElse(client);
  clock.advance(1);
  assert.deepEqual((await client.next('WORK_FAIL')).text, [fg], 'the client hears at once, with no worker anywhere');

  const [[fgEntry], [bgEntry]] = await Promise.all([quarantinedFg, quarantinedBg]);
  for (const entry of [fgEntry, bgEntry]) {
    assert.equal(entry.reason, 'expired');
    assert.equal(entry.deadline, submittedAt + 5000);
    assert.deepEqual(entry.attempts, [], 'it never started');
  }
  assert.equal((await server.engine.quarantine.get(jobIdOf(bg))).payload.toString(), 'q4');

  // A worker that turns up later finds nothing to run.
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'report');
  await grabNothing(worker);
  assert.equal(server.engine.jobCount, 0);
});

test('a job whose deadline passes during its retry backoff does not start again', async (t) => {
  const clock = new ManualClock();
  const server = await serverFor(
    t,
    { policies: [{ match: 'sync', ttl: 5000, backoff: { type: 'fixed', base: 10_000, cap: 10_000, jitter: false } }] },
    { clock },
  );
  const client = await peerFor(t, server.gearmanPort);
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'sync');
  const handle = await submitBg(client, 'sync', 'account-7');
  assert.equal((await grab(worker)).text[0], handle);
  const retry = waitEvent(server.engine, 'job:retry', (job) => job.handle === handle);
  worker.send('WORK_FAIL', handle);
  await retry;

  const quarantined = waitEvent(server.engine, 'job:quarantined', (e) => e.handle === handle);
  clock.advance(5000);
  const [entry] = await quarantined;
  assert.equal(entry.reason, 'expired');
  assert.deepEqual(
    entry.attempts.map((a) => a.outcome),
    ['failed'],
    'the attempt it had is kept',
  );
  clock.advance(10_000);
  await grabNothing(worker);
});

test('a running job is not stopped by its deadline: the deadline is about starting', async (t) => {
  const clock = new ManualClock();
  const server = await serverFor(t, { policies: [{ match: 'long', ttl: 1000 }] }, { clock });
  const client = await peerFor(t, server.gearmanPort);
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'long');
  const handle = (await client.request('SUBMIT_JOB', ['long', '', 'x'], 'JOB_CREATED')).text[0]!;
  assert.equal((await grab(worker)).text[0], handle);
  clock.advance(5000);
  worker.send('WORK_COMPLETE', handle, 'done');
  assert.deepEqual((await client.next('WORK_COMPLETE')).text, [handle, 'done']);
});
