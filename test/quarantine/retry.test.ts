// Counted attempts and what a policy does with them — backoff behind healthy jobs, the
// maxAttempts and maxCrashes budgets for background and foreground jobs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import type { Job } from '../../src/core/job.js';
import { rawWorker } from '../helpers/gearman-client.js';
import { assertNothingElse, crash, crashingWorker, FAST_BACKOFF, grab, grabNothing, jobIdOf, submitBg } from './helpers.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { recordEvents, waitEvent } from '../helpers/events.js';

test('backoff puts a retried job behind the healthy jobs, including ones submitted after it failed', async (t) => {
  const clock = new ManualClock();
  const server = await serverFor(t, { policies: [{ match: 'thumb', backoff: { type: 'fixed', base: 1000, cap: 1000, jitter: false } }] }, { clock });
  const client = await peerFor(t, server.gearmanPort);
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'thumb');

  const a = await submitBg(client, 'thumb', 'a');
  const b = await submitBg(client, 'thumb', 'b');
  assert.equal((await grab(worker)).text[0], a);
  const retry = waitEvent(server.engine, 'job:retry', (job) => job.handle === a);
  worker.send('WORK_FAIL', a);
  const [, runAt] = await retry;
  assert.equal(runAt, clock.now() + 1000, 'retried after its backoff');
  const c = await submitBg(client, 'thumb', 'c');
  // While it backs off, the others run.
  const first = await grab(worker);
  assert.equal(first.text[0], b);
  // Due, it is moved from the store to the back of the line (one store call later).
  const requeued = waitEvent(server.engine, 'job:queued', (job) => job.handle === a);
  clock.advance(1000);
  await requeued;
  const d = await submitBg(client, 'thumb', 'd');
  worker.send('WORK_COMPLETE', b, 'ok');

  const order: string[] = [];
  for (let i = 0; i < 3; i++) {
    const job = await grab(worker);
    order.push(job.text[0]!);
    worker.send('WORK_COMPLETE', job.args[0]!, 'ok');
  }
  // c was queued before a's backoff ended, so a goes behind it; d came after a re-joined the queue.
  assert.deepEqual(order, [c, a, d]);
});

test('a retried job goes to the back of its own priority, still ahead of lower priorities', async (t) => {
  const server = await serverFor(t, { policies: [{ match: '*', backoff: { type: 'fixed', base: 0, cap: 0, jitter: false } }] });
  const client = await peerFor(t, server.gearmanPort);
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'mail');
  const high1 = (await client.request('SUBMIT_JOB_HIGH_BG', ['mail', '', 'h1'], 'JOB_CREATED')).text[0]!;
  const high2 = (await client.request('SUBMIT_JOB_HIGH_BG', ['mail', '', 'h2'], 'JOB_CREATED')).text[0]!;
  const normal = await submitBg(client, 'mail', 'n1');

  assert.equal((await grab(worker)).text[0], high1);
  const retry = waitEvent(server.engine, 'job:retry', (job) => job.handle === high1);
  worker.send('WORK_FAIL', high1);
  await retry;
  const order: string[] = [];
  for (let i = 0; i < 3; i++) {
    const job = await grab(worker);
    order.push(job.text[0]!);
    worker.send('WORK_COMPLETE', job.args[0]!, 'ok');
  }
  assert.deepEqual(order, [high2, high1, normal]);
});

test('a background job that fails every time is quarantined as max_attempts after maxAttempts deliveries', async (t) => {
  const server = await serverFor(t, { policies: [{ match: 'flaky', maxAttempts: 4, backoff: FAST_BACKOFF }] });
  const deliveries: string[] = [];
  await rawWorker(server.gearmanPort, 'flaky', (_payload, peer, handle) => {
    deliveries.push(handle);
    peer.send('WORK_FAIL', handle);
    return null;
  }).then((w) => t.after(() => w.close()));
  const quarantined = waitEvent(server.engine, 'job:quarantined');
  const client = await peerFor(t, server.gearmanPort);
  const handle = await submitBg(client, 'flaky', 'x', 'flaky-1');
  const [entry] = await quarantined;

  assert.equal(entry.handle, handle);
  assert.equal(entry.reason, 'max_attempts');
  assert.deepEqual(deliveries, [handle, handle, handle, handle], 'exactly maxAttempts deliveries');
  assert.deepEqual(
    entry.attempts.map((a) => [a.n, a.outcome, a.error]),
    [1, 2, 3, 4].map((n) => [n, 'failed', 'WORK_FAIL']),
  );
  const stored = await server.engine.quarantine.get(jobIdOf(handle));
  assert.equal(stored.attempts.length, 4);
  assert.equal(server.engine.jobCount, 0);
});

test('a foreground WORK_FAIL goes to the client, as gearmand does, and is not retried', async (t) => {
  const server = await serverFor(t, { policies: [{ match: '*', backoff: FAST_BACKOFF }] });
  const retries = recordEvents(t, server.engine, 'job:retry');
  const quarantines = recordEvents(t, server.engine, 'job:quarantined');
  const client = await peerFor(t, server.gearmanPort);
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'fg');

  const handle = (await client.request('SUBMIT_JOB', ['fg', '', 'x'], 'JOB_CREATED')).text[0]!;
  assert.equal((await grab(worker)).text[0], handle);
  const ended = waitEvent(server.engine, 'attempt:ended', (job) => job.handle === handle);
  worker.send('WORK_FAIL', handle);
  assert.deepEqual((await client.next('WORK_FAIL')).text, [handle]);
  const [, attempt] = await ended;
  assert.equal(attempt.outcome, 'failed');

  // An exception reaches a client that asked for exceptions, word for word.
  await client.request('OPTION_REQ', ['exceptions'], 'OPTION_RES');
  const h2 = (await client.request('SUBMIT_JOB', ['fg', '', 'y'], 'JOB_CREATED')).text[0]!;
  assert.equal((await grab(worker)).text[0], h2);
  worker.send('WORK_EXCEPTION', h2, 'bad input');
  assert.deepEqual((await client.next('WORK_EXCEPTION')).text, [h2, 'bad input']);

  await grabNothing(worker);
  assert.equal(retries.length, 0);
  assert.equal(quarantines.length, 0);
  assert.equal(server.engine.jobCount, 0);
  await assertNothingElse(client);
});

for (const exceptions of [false, true]) {
  test(`a foreground job whose worker crashes maxCrashes times: the client gets ${exceptions ? 'WORK_EXCEPTION with the reason' : 'WORK_FAIL'} and the job is quarantined`, async (t) => {
    const server = await serverFor(t, { policies: [{ match: '*', backoff: FAST_BACKOFF }] });
    const client = await peerFor(t, server.gearmanPort);
    if (exceptions) await client.request('OPTION_REQ', ['exceptions'], 'OPTION_RES');
    const handle = (await client.request('SUBMIT_JOB', ['render', 'fg-crash', 'scene'], 'JOB_CREATED')).text[0]!;
    const quarantined = waitEvent(server.engine, 'job:quarantined', (e) => e.handle === handle);

    for (let i = 1; i <= 3; i++) {
      const worker = await crashingWorker(t, server.gearmanPort, 'render', `renderer-${i}`);
      assert.equal((await grab(worker)).text[0], handle, `delivery ${i}`);
      const ended = waitEvent(server.engine, 'attempt:ended', (job) => job.handle === handle);
      crash(worker);
      const [job, attempt] = await ended;
      assert.equal(attempt.outcome, 'crashed');
      assert.equal(attempt.worker, `renderer-${i}`);
      if (i < 3) assert.equal(job.waiters.length, 1, 'the client keeps waiting while the budget lasts');
    }

    if (exceptions) {
      const r = await client.next('WORK_EXCEPTION');
      assert.equal(r.text[0], handle);
      assert.match(r.text[1]!, /quarantined \(max_crashes\)/);
    } else {
      assert.deepEqual((await client.next('WORK_FAIL')).text, [handle]);
    }
    const [entry] = await quarantined;
    assert.equal(entry.reason, 'max_crashes');
    assert.equal(entry.unique, 'fg-crash');
    assert.deepEqual(
      entry.attempts.map((a) => [a.outcome, a.worker]),
      [1, 2, 3].map((i) => ['crashed', `renderer-${i}`]),
    );
    const stored = await server.engine.quarantine.get(entry.id);
    assert.equal(stored.payload.toString(), 'scene', 'a foreground job is quarantined whole, like any other');
    await assertNothingElse(client);
  });
}

test('a crash is charged to the job the worker was running, not to the others it held', async (t) => {
  const server = await serverFor(t, { policies: [{ match: '*', maxCrashes: 1, backoff: FAST_BACKOFF }] });
  const client = await peerFor(t, server.gearmanPort);
  const first = await submitBg(client, 'multi', 'one');
  const second = await submitBg(client, 'multi', 'two');
  const worker = await crashingWorker(t, server.gearmanPort, 'multi');
  assert.equal((await grab(worker)).text[0], first);
  assert.equal((await grab(worker)).text[0], second);
  const quarantined = waitEvent(server.engine, 'job:quarantined');
  const retried = waitEvent(server.engine, 'job:retry', (job: Job) => job.handle === second);
  crash(worker);
  const [[entry]] = await Promise.all([quarantined, retried]);
  assert.equal(entry.handle, first);
  assert.equal(entry.reason, 'max_crashes');

  // The second job was given back uncharged and still completes.
  const done = waitEvent(server.engine, 'job:completed', (job) => job.handle === second);
  const healthy = await peerFor(t, server.gearmanPort);
  healthy.send('CAN_DO', 'multi');
  const again = await grab(healthy);
  assert.equal(again.text[0], second);
  healthy.send('WORK_COMPLETE', second, 'ok');
  const [job] = await done;
  assert.deepEqual(
    job.history.map((a) => a.outcome),
    ['returned', 'completed'],
  );
  assert.equal(job.crashes, 0);
});
