// /health: red with a reason naming the function, and green again once a real Gearman worker connects.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { checkOf, grab, health, healthWith, httpServer, submitBg } from './helpers.js';
import { peerFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';

test('a minWorkers rule: 503 naming the function while no worker is there, 200 once one connects', async (t) => {
  const server = await httpServer(t, { health: healthWith([{ function: 'resize*', minWorkers: 1 }], { intervalMs: 100 }) });
  const client = await peerFor(t, server.gearmanPort);
  const red = once(server.health, 'health:changed');
  await submitBg(client, 'resize_small', 'img-1');

  // The periodic check finds it by itself, within the interval.
  const [changed] = (await red) as [{ name: string; function: string; state: string }];
  assert.deepEqual([changed.name, changed.function, changed.state], ['workers', 'resize_small', 'fail']);

  const down = await health(server);
  assert.equal(down.status, 503);
  assert.equal(down.body.status, 'fail');
  const workers = checkOf(down.body, 'workers', 'resize_small');
  assert.equal(workers.state, 'fail');
  assert.match(workers.reason, /0 workers connected, at least 1/);
  assert.equal(checkOf(down.body, 'store').state, 'ok');

  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'resize_small');
  await worker.request('ECHO_REQ', ['registered'], 'ECHO_RES');
  const up = await health(server);
  assert.equal(up.status, 200);
  assert.equal(up.body.status, 'ok');
  assert.equal(checkOf(up.body, 'workers', 'resize_small').state, 'ok');
  assert.ok(!Number.isNaN(Date.parse(up.body.checkedAt)));
});

test('with no config at all, queued jobs and no worker for 30 s turn /health red, naming the function', async (t) => {
  const clock = new ManualClock();
  const server = await httpServer(t, {}, clock);
  const client = await peerFor(t, server.gearmanPort);
  await submitBg(client, 'send_invoice', 'inv-1');
  await submitBg(client, 'send_invoice', 'inv-2');

  let now = await health(server);
  assert.equal(now.status, 200, 'a fresh queue is not an outage');
  assert.equal(checkOf(now.body, 'unserved', 'send_invoice').state, 'ok');

  clock.advance(29_000);
  assert.equal((await health(server)).status, 200);
  clock.advance(1_000);
  now = await health(server);
  assert.equal(now.status, 503);
  const unserved = checkOf(now.body, 'unserved', 'send_invoice');
  assert.equal(unserved.state, 'fail');
  assert.match(unserved.reason, /2 jobs queued and no worker connected for 30/);

  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'send_invoice');
  await worker.request('ECHO_REQ', ['registered'], 'ECHO_RES');
  now = await health(server);
  assert.equal(now.status, 200);
  assert.equal(checkOf(now.body, 'unserved', 'send_invoice').state, 'ok');
});

test('queue depth, a hung attempt and a slow p95 run time each turn their check red', async (t) => {
  const clock = new ManualClock();
  const rules = [{ function: 'render', maxQueued: 1, hangAfter: 5_000, maxP95Run: 1_000, maxOldestQueuedAge: 60_000 }];
  const server = await httpServer(t, { health: healthWith(rules) }, clock);
  const client = await peerFor(t, server.gearmanPort);
  await submitBg(client, 'render', 'a');
  await submitBg(client, 'render', 'b');
  let now = await health(server);
  assert.equal(checkOf(now.body, 'queued', 'render').state, 'fail');

  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'render');
  const job = await grab(worker);
  clock.advance(6_000);
  now = await health(server);
  assert.equal(checkOf(now.body, 'queued', 'render').state, 'ok');
  const hung = checkOf(now.body, 'hung', 'render');
  assert.equal(hung.state, 'fail');
  assert.equal(hung.value, 6_000);
  assert.equal(checkOf(now.body, 'oldest_queued_age', 'render').value, 6_000);

  const done = waitEvent(server.engine, 'job:completed');
  worker.send('WORK_COMPLETE', job.text[0]!, 'ok');
  await done;
  now = await health(server);
  const p95 = checkOf(now.body, 'p95_run', 'render');
  assert.equal(p95.state, 'fail');
  assert.ok(p95.value! >= 6_000, `p95 ${p95.value}`);
  assert.equal(now.status, 503);

  // Five minutes later the slow attempt has left the window.
  clock.advance(5 * 60_000 + 10_000);
  now = await health(server);
  assert.equal(checkOf(now.body, 'p95_run', 'render').state, 'ok');
});

test('checks added by other parts of the node appear in /health; a source that throws is a failing check', async (t) => {
  const server = await httpServer(t);
  let state: 'ok' | 'fail' = 'fail';
  server.health.addSource(() => [{ name: 'supervisor', state, reason: state === 'ok' ? 'all programs running' : 'php-worker is flapping' }]);
  let now = await health(server);
  assert.equal(now.status, 503);
  assert.equal(checkOf(now.body, 'supervisor').reason, 'php-worker is flapping');
  state = 'ok';
  assert.equal((await health(server)).status, 200);
  server.health.addSource(() => {
    throw new Error('no supervisor report');
  });
  now = await health(server);
  assert.equal(now.status, 503);
  assert.match(checkOf(now.body, 'source').reason, /no supervisor report/);
});

test('with no config at all, queued jobs, a connected worker and no job started for 60 s turn /health red, naming the function', async (t) => {
  const clock = new ManualClock();
  const server = await httpServer(t, {}, clock);
  const client = await peerFor(t, server.gearmanPort);
  // A worker that registers and then never asks for work (a loop that died, a blocked event loop).
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'thumbnail');
  await worker.request('ECHO_REQ', ['registered'], 'ECHO_RES');
  await submitBg(client, 'thumbnail', 'a');
  await submitBg(client, 'thumbnail', 'b');

  clock.advance(59_000);
  let now = await health(server);
  assert.equal(now.status, 200, JSON.stringify(now.body.checks));
  assert.equal(checkOf(now.body, 'stalled', 'thumbnail').state, 'ok');
  clock.advance(1_000);
  now = await health(server);
  assert.equal(now.status, 503);
  const stalled = checkOf(now.body, 'stalled', 'thumbnail');
  assert.equal(stalled.state, 'fail');
  assert.match(stalled.reason, /2 jobs queued and 1 worker connected, but no job started for 60 s/);
  assert.equal(checkOf(now.body, 'unserved', 'thumbnail').state, 'ok', 'a worker is connected: not unserved');

  // A start clears it; the next job queued behind a busy worker counts from that start.
  await grab(worker);
  now = await health(server);
  assert.equal(checkOf(now.body, 'stalled', 'thumbnail').state, 'ok');
  clock.advance(59_999);
  assert.equal(checkOf((await health(server)).body, 'stalled', 'thumbnail').state, 'ok');
  clock.advance(1);
  assert.equal(checkOf((await health(server)).body, 'stalled', 'thumbnail').state, 'fail');
});

test('health.stalledAfterMs: 0 turns the stalled-function check off', async (t) => {
  const clock = new ManualClock();
  const server = await httpServer(t, { health: healthWith([], { stalledAfterMs: 0 }) }, clock);
  const client = await peerFor(t, server.gearmanPort);
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'thumbnail');
  await worker.request('ECHO_REQ', ['registered'], 'ECHO_RES');
  await submitBg(client, 'thumbnail', 'a');
  clock.advance(600_000);
  const now = await health(server);
  assert.equal(now.status, 200);
  assert.equal(
    now.body.checks.some((c) => c.name === 'stalled'),
    false,
  );
});
