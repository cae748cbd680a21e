// Worker side of the binary protocol against a real server (README, Where Lazaret differs: B5, B6, B7,
// B10, B14, B18): registration, grabbing, sleeping, timeouts,
// disconnects, priorities, fairness and coalescing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { adminUntil, assertSilent, sync } from './util.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';

test('GRAB_JOB, GRAB_JOB_UNIQ and GRAB_JOB_ALL; NO_JOB when nothing is runnable', async (t) => {
  const server = await serverFor(t);
  const client = await peerFor(t, server);
  const worker = await peerFor(t, server);
  worker.send('CAN_DO', 'g');
  await worker.request('GRAB_JOB', [], 'NO_JOB');
  await worker.request('GRAB_JOB_UNIQ', [], 'NO_JOB');
  await worker.request('GRAB_JOB_ALL', [], 'NO_JOB');
  const payload = Buffer.from('p\0q');
  const h = [];
  for (const unique of ['u1', '', 'u3']) h.push((await client.request('SUBMIT_JOB_BG', ['g', unique, payload], 'JOB_CREATED')).text[0]!);
  const a1 = await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
  assert.equal(a1.args.length, 3);
  assert.deepEqual(a1.text.slice(0, 2), [h[0], 'g']);
  assert.ok(a1.args[2]!.equals(payload));
  const a2 = await worker.request('GRAB_JOB_UNIQ', [], 'JOB_ASSIGN_UNIQ');
  assert.deepEqual(a2.text.slice(0, 3), [h[1], 'g', '']);
  assert.ok(a2.args[3]!.equals(payload));
  // libgearman workers grab with GRAB_JOB_ALL and need JOB_ASSIGN_UNIQ for ordinary jobs.
  const a3 = await worker.request('GRAB_JOB_ALL', [], 'JOB_ASSIGN_UNIQ');
  assert.deepEqual(a3.text.slice(0, 3), [h[2], 'g', 'u3']);
  // A connection may hold several jobs at once.
  assert.equal(await (await peerFor(t, server)).admin('status'), 'g\t3\t3\t1\n.\n');
  await worker.request('GRAB_JOB', [], 'NO_JOB');
  for (const handle of h) worker.send('WORK_COMPLETE', handle, '');
  await assertSilent(worker, 'three completions');
});

test('ALL_YOURS is accepted silently', async (t) => {
  const server = await serverFor(t);
  const worker = await peerFor(t, server);
  worker.send('CAN_DO', 'a');
  worker.send('ALL_YOURS');
  worker.send('ALL_YOURS', Buffer.from('ignored body'));
  await assertSilent(worker, 'ALL_YOURS');
});

test('CANT_DO and RESET_ABILITIES stop the hand-out of those functions', async (t) => {
  const server = await serverFor(t);
  const client = await peerFor(t, server);
  const worker = await peerFor(t, server);
  const admin = await peerFor(t, server);
  for (const fn of ['x', 'y', 'z']) await client.request('SUBMIT_JOB_BG', [fn, '', fn], 'JOB_CREATED');
  worker.send('CAN_DO', 'x');
  worker.send('CAN_DO', 'y');
  worker.send('CANT_DO', 'x');
  worker.send('CANT_DO', 'never-registered');
  await assertSilent(worker, 'CAN_DO / CANT_DO');
  assert.equal((await worker.request('GRAB_JOB', [], 'JOB_ASSIGN')).text[1], 'y');
  await worker.request('GRAB_JOB', [], 'NO_JOB');
  worker.send('CAN_DO', 'z');
  worker.send('RESET_ABILITIES');
  await worker.request('GRAB_JOB', [], 'NO_JOB');
  const status = await admin.admin('status');
  assert.ok(status.includes('x\t1\t0\t0\n') && status.includes('z\t1\t0\t0\n'), status);
  // The job held when the abilities went is requeued, like a worker disconnect.
  assert.ok(status.includes('y\t1\t0\t0\n'), status);
});

test('PRE_SLEEP: NOOP at once when work is queued, otherwise one NOOP per sleep however many jobs arrive', async (t) => {
  const server = await serverFor(t);
  const client = await peerFor(t, server);
  const worker = await peerFor(t, server);
  worker.send('CAN_DO', 's');
  await client.request('SUBMIT_JOB_BG', ['s', '', '1'], 'JOB_CREATED');
  worker.send('PRE_SLEEP');
  assert.equal((await worker.next()).name, 'NOOP', 'immediate NOOP: a job is waiting');
  await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
  worker.send('PRE_SLEEP');
  await assertSilent(worker, 'nothing queued: no NOOP');
  for (let i = 0; i < 5; i++) client.send('SUBMIT_JOB_BG', 's', '', `more ${i}`);
  for (let i = 0; i < 5; i++) await client.next('JOB_CREATED');
  assert.equal((await worker.next()).name, 'NOOP');
  await assertSilent(worker, 'a sleeping worker gets one NOOP, not one per job');
  // A worker that never sent PRE_SLEEP is never woken.
  const busy = await peerFor(t, server);
  busy.send('CAN_DO', 's');
  await sync(busy);
  await client.request('SUBMIT_JOB_BG', ['s', '', 'again'], 'JOB_CREATED');
  await assertSilent(busy, 'never slept, never woken');
  // Another round: grab, sleep again with work left -> immediate NOOP again.
  await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
  worker.send('PRE_SLEEP');
  assert.equal((await worker.next()).name, 'NOOP');
});

test('two sleeping workers are both woken and both served', async (t) => {
  const server = await serverFor(t);
  const client = await peerFor(t, server);
  const w1 = await peerFor(t, server);
  const w2 = await peerFor(t, server);
  for (const w of [w1, w2]) {
    w.send('CAN_DO', 'fair');
    w.send('PRE_SLEEP');
    await assertSilent(w, 'asleep');
  }
  client.send('SUBMIT_JOB', 'fair', '', 'one');
  client.send('SUBMIT_JOB', 'fair', '', 'two');
  const handles = [(await client.next('JOB_CREATED')).text[0], (await client.next('JOB_CREATED')).text[0]];
  assert.equal((await w1.next()).name, 'NOOP');
  assert.equal((await w2.next()).name, 'NOOP');
  const a1 = await w1.request('GRAB_JOB', [], 'JOB_ASSIGN');
  const a2 = await w2.request('GRAB_JOB', [], 'JOB_ASSIGN');
  assert.deepEqual([a1.text[0], a2.text[0]].sort(), [...handles].sort());
  w1.send('WORK_COMPLETE', a1.args[0]!, 'by w1');
  w2.send('WORK_COMPLETE', a2.args[0]!, 'by w2');
  const results = [(await client.next('WORK_COMPLETE')).text, (await client.next('WORK_COMPLETE')).text].map((r) => r[1]).sort();
  assert.deepEqual(results, ['by w1', 'by w2']);

  // One job for two sleepers wakes one of them, not both (B18 improved).
  for (const w of [w1, w2]) {
    w.send('PRE_SLEEP');
    await assertSilent(w, 'asleep again');
  }
  await client.request('SUBMIT_JOB_BG', ['fair', '', 'three'], 'JOB_CREATED');
  const noops = [...(await sync(w1)), ...(await sync(w2))].filter((r) => r.name === 'NOOP').length;
  assert.equal(noops, 1);
});

test('priorities: high before normal before low, FIFO within each, per function', async (t) => {
  const server = await serverFor(t);
  const client = await peerFor(t, server);
  const worker = await peerFor(t, server);
  const plan = [
    ['SUBMIT_JOB_LOW_BG', 'low-1'],
    ['SUBMIT_JOB_BG', 'normal-1'],
    ['SUBMIT_JOB_HIGH_BG', 'high-1'],
    ['SUBMIT_JOB_LOW_BG', 'low-2'],
    ['SUBMIT_JOB_HIGH_BG', 'high-2'],
    ['SUBMIT_JOB_BG', 'normal-2'],
    ['SUBMIT_JOB_HIGH_BG', 'high-3'],
    ['SUBMIT_JOB_LOW_BG', 'low-3'],
    ['SUBMIT_JOB_BG', 'normal-3'],
  ] as const;
  for (const [form, payload] of plan) client.send(form, 'prio', '', payload);
  for (let i = 0; i < plan.length; i++) await client.next('JOB_CREATED');
  // Foreground jobs obey the same order.
  await client.request('SUBMIT_JOB_LOW', ['prio', '', 'low-4'], 'JOB_CREATED');
  await client.request('SUBMIT_JOB_HIGH', ['prio', '', 'high-4'], 'JOB_CREATED');
  worker.send('CAN_DO', 'prio');
  const order: string[] = [];
  for (let i = 0; i < plan.length + 2; i++) {
    const a = await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
    order.push(a.text[2]!);
    worker.send('WORK_COMPLETE', a.args[0]!, '');
  }
  assert.deepEqual(order, ['high-1', 'high-2', 'high-3', 'high-4', 'normal-1', 'normal-2', 'normal-3', 'low-1', 'low-2', 'low-3', 'low-4']);
});

test('unique coalescing: same function and unique share a handle; other function, empty unique and `-` rules', async (t) => {
  const server = await serverFor(t);
  const c1 = await peerFor(t, server);
  const c2 = await peerFor(t, server);
  const admin = await peerFor(t, server);
  const submit = async (peer: typeof c1, form: 'SUBMIT_JOB' | 'SUBMIT_JOB_BG' | 'SUBMIT_JOB_HIGH', fn: string, unique: string, data: string): Promise<string> =>
    (await peer.request(form, [fn, unique, data], 'JOB_CREATED')).text[0]!;

  const a = await submit(c1, 'SUBMIT_JOB', 'co', 'k', 'first');
  assert.equal(await submit(c2, 'SUBMIT_JOB_HIGH', 'co', 'k', 'second'), a, 'same fn+unique, foreground');
  assert.equal(await submit(c2, 'SUBMIT_JOB_BG', 'co', 'k', 'third'), a, 'background into foreground');
  assert.notEqual(await submit(c1, 'SUBMIT_JOB', 'other', 'k', 'first'), a, 'same unique, other function');
  const e1 = await submit(c1, 'SUBMIT_JOB_BG', 'co', '', 'same');
  const e2 = await submit(c1, 'SUBMIT_JOB_BG', 'co', '', 'same');
  assert.notEqual(e1, e2, 'an empty unique never coalesces');
  const d1 = await submit(c1, 'SUBMIT_JOB_BG', 'co', '-', 'payload A');
  assert.equal(await submit(c2, 'SUBMIT_JOB_BG', 'co', '-', 'payload A'), d1, '`-` coalesces on identical payloads');
  assert.notEqual(await submit(c2, 'SUBMIT_JOB_BG', 'co', '-', 'payload B'), d1, '`-` with another payload is another job');
  const u64 = 'u'.repeat(64);
  const long = await submit(c1, 'SUBMIT_JOB_BG', 'co', u64, 'x');
  assert.equal(await submit(c2, 'SUBMIT_JOB_BG', 'co', u64, 'x'), long, 'a 64-byte unique is kept whole and coalesces (B9 improved)');
  assert.equal(await admin.admin('status'), 'co\t6\t0\t0\nother\t1\t0\t0\n.\n');

  // The first submission's payload and priority win; both foreground clients get the result.
  const worker = await peerFor(t, server);
  worker.send('CAN_DO', 'co');
  const got = await worker.request('GRAB_JOB_UNIQ', [], 'JOB_ASSIGN_UNIQ');
  assert.deepEqual(got.text, [a, 'co', 'k', 'first']);
  worker.send('WORK_COMPLETE', a, 'r');
  assert.deepEqual((await c1.next('WORK_COMPLETE')).text, [a, 'r']);
  assert.deepEqual((await c2.next('WORK_COMPLETE')).text, [a, 'r']);
  // Finished: the unique is free again.
  assert.notEqual(await submit(c1, 'SUBMIT_JOB_BG', 'co', 'k', 'again'), a);
});

test('coalescing onto a running job attaches the new client to its remaining reports', async (t) => {
  const server = await serverFor(t);
  const c1 = await peerFor(t, server);
  const c2 = await peerFor(t, server);
  const worker = await peerFor(t, server);
  worker.send('CAN_DO', 'run');
  const h = (await c1.request('SUBMIT_JOB', ['run', 'r', 'x'], 'JOB_CREATED')).text[0]!;
  await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
  worker.send('WORK_DATA', h, 'before');
  assert.deepEqual((await c1.next('WORK_DATA')).text, [h, 'before']);
  assert.equal((await c2.request('SUBMIT_JOB', ['run', 'r', 'y'], 'JOB_CREATED')).text[0], h);
  worker.send('WORK_DATA', h, 'after');
  worker.send('WORK_COMPLETE', h, 'done');
  for (const c of [c1, c2]) {
    assert.deepEqual((await c.next('WORK_DATA')).text, [h, 'after']);
    assert.deepEqual((await c.next('WORK_COMPLETE')).text, [h, 'done']);
  }
});

test('a foreground job whose only client left before it started is never handed out (B6)', async (t) => {
  const server = await serverFor(t);
  const leaving = await peerFor(t, server);
  const staying = await peerFor(t, server);
  const admin = await peerFor(t, server);
  await leaving.request('SUBMIT_JOB', ['orph', 'gone', 'abandoned'], 'JOB_CREATED');
  const kept = (await staying.request('SUBMIT_JOB', ['orph', '', 'kept'], 'JOB_CREATED')).text[0];
  assert.equal(await admin.admin('status'), 'orph\t2\t0\t0\n.\n');
  leaving.close();
  await adminUntil(admin, 'status', (s) => s === 'orph\t1\t0\t0\n.\n');
  const worker = await peerFor(t, server);
  worker.send('CAN_DO', 'orph');
  const a = await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
  assert.deepEqual([a.text[0], a.text[2]], [kept, 'kept']);
  await worker.request('GRAB_JOB', [], 'NO_JOB');
  // A background job with the same unique is not lost with it (B6 improved): here a fresh job.
  const bgClient = await peerFor(t, server);
  await bgClient.request('SUBMIT_JOB_BG', ['orph', 'gone', 'bg'], 'JOB_CREATED');
  assert.equal((await worker.request('GRAB_JOB', [], 'JOB_ASSIGN')).text[2], 'bg');
});

test('a background submission coalesced into a foreground job keeps it alive when the client leaves (B6 improved)', async (t) => {
  const server = await serverFor(t);
  const fg = await peerFor(t, server);
  const bg = await peerFor(t, server);
  const admin = await peerFor(t, server);
  const h = (await fg.request('SUBMIT_JOB', ['mix', 'm', 'fg payload'], 'JOB_CREATED')).text[0];
  assert.equal((await bg.request('SUBMIT_JOB_BG', ['mix', 'm', 'bg payload'], 'JOB_CREATED')).text[0], h);
  fg.close();
  await fg.waitClosed();
  // The job must survive; wait until the server has seen the close (the fg connection is gone).
  await adminUntil(admin, 'workers', (s) => s.split('\n').length === 4);
  assert.equal(await admin.admin('status'), 'mix\t1\t0\t0\n.\n');
  const worker = await peerFor(t, server);
  worker.send('CAN_DO', 'mix');
  assert.deepEqual((await worker.request('GRAB_JOB', [], 'JOB_ASSIGN')).text, [h, 'mix', 'fg payload']);
});

test('worker disconnect while holding a job: requeued after backoff, same handle, the client keeps waiting', async (t) => {
  const server = await serverFor(t, { policies: [{ match: '*', backoff: { base: 10, cap: 10, jitter: false } }] });
  const client = await peerFor(t, server);
  const admin = await peerFor(t, server);
  const w1 = await peerFor(t, server);
  const w2 = await peerFor(t, server);
  const h = (await client.request('SUBMIT_JOB', ['dc', 'd', 'work'], 'JOB_CREATED')).text[0]!;
  w1.send('CAN_DO', 'dc');
  await w1.request('GRAB_JOB', [], 'JOB_ASSIGN');
  w1.send('WORK_STATUS', h, '1', '2');
  await client.next('WORK_STATUS');
  w2.send('CAN_DO', 'dc');
  w2.send('PRE_SLEEP');
  await assertSilent(w2, 'asleep while w1 runs the job');

  const ended = waitEvent(server.engine, 'attempt:ended', (job) => job.handle === h);
  const requeued = waitEvent(server.engine, 'job:queued', (job) => job.handle === h);
  w1.close();
  const [, attempt] = await ended;
  assert.equal(attempt.outcome, 'crashed');
  await requeued;
  assert.equal((await w2.next()).name, 'NOOP', 'the requeue wakes the sleeping worker');
  assert.deepEqual((await client.request('GET_STATUS', [h], 'STATUS_RES')).text, [h, '1', '0', '0', '0'], 'progress reset');
  assert.equal(await admin.admin('show jobs'), `${h}\t1\t0\t0\n.\n`);
  const again = await w2.request('GRAB_JOB', [], 'JOB_ASSIGN');
  assert.deepEqual(again.text, [h, 'dc', 'work']);
  w2.send('WORK_COMPLETE', h, 'second worker');
  assert.deepEqual((await client.next()).text, [h, 'second worker'], 'the client kept waiting and got the result');
  await assertSilent(client, 'no WORK_FAIL was sent for the crash');
});

test('CAN_DO_TIMEOUT: past it the job goes to another worker; the late result is ignored without an ERROR', async (t) => {
  const clock = new ManualClock();
  const server = await serverFor(t, { policies: [{ match: '*', backoff: { base: 100, cap: 100, jitter: false } }] }, { clock });
  const client = await peerFor(t, server);
  const slow = await peerFor(t, server);
  const fast = await peerFor(t, server);
  const admin = await peerFor(t, server);
  slow.send('CAN_DO_TIMEOUT', 'to', '1500');
  const h = (await client.request('SUBMIT_JOB', ['to', 'once', 'job'], 'JOB_CREATED')).text[0]!;
  await slow.request('GRAB_JOB', [], 'JOB_ASSIGN');
  fast.send('CAN_DO', 'to');
  fast.send('PRE_SLEEP');
  await assertSilent(fast, 'asleep');

  clock.advance(1499);
  await assertSilent(fast, 'not yet timed out');
  assert.equal(await admin.admin('status'), 'to\t1\t1\t2\n.\n');
  const ended = waitEvent(server.engine, 'attempt:ended', (job) => job.handle === h);
  clock.advance(1);
  const [, attempt] = await ended;
  assert.equal(attempt.outcome, 'timed_out');
  assert.equal(await admin.admin('show jobs'), `${h}\t1\t0\t0\n.\n`);
  await assertSilent(fast, 'still in backoff');
  const queued = waitEvent(server.engine, 'job:queued', (job) => job.handle === h);
  clock.advance(100);
  await queued;
  assert.equal((await fast.next()).name, 'NOOP');
  assert.deepEqual((await fast.request('GRAB_JOB', [], 'JOB_ASSIGN')).text, [h, 'to', 'job']);

  const ignored = waitEvent(server.engine, 'report:ignored', (handle) => handle === h);
  slow.send('WORK_COMPLETE', h, 'too late');
  const [, , packet] = await ignored;
  assert.equal(packet, 'WORK_COMPLETE');
  await assertSilent(slow, 'the late WORK_COMPLETE gets no ERROR');
  await assertSilent(client, 'the late result is not forwarded');
  fast.send('WORK_COMPLETE', h, 'in time');
  assert.deepEqual((await client.next()).text, [h, 'in time']);
  await assertSilent(client, 'exactly one result');
});

test('CAN_DO_TIMEOUT values: 1..999 mean one second, 0 and garbage mean none', async (t) => {
  const clock = new ManualClock();
  const server = await serverFor(t, {}, { clock });
  const client = await peerFor(t, server);
  for (const [value, expectTimeout] of [
    ['1', 1000],
    ['999', 1000],
    ['0', null],
    ['-5', null],
    ['abc', null],
  ] as const) {
    const fn = `cdt${value}`;
    const worker = await peerFor(t, server);
    worker.send('CAN_DO_TIMEOUT', fn, value);
    const h = (await client.request('SUBMIT_JOB_BG', [fn, '', 'x'], 'JOB_CREATED')).text[0]!;
    await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
    const ended = waitEvent(server.engine, 'attempt:ended', (job) => job.handle === h, 2000);
    ended.catch(() => undefined);
    clock.advance(999);
    clock.advance(1);
    if (expectTimeout === null) {
      clock.advance(10 * 24 * 3_600_000);
      worker.send('WORK_COMPLETE', h, '');
      assert.equal((await ended)[1].outcome, 'completed', `${value}: no timeout`);
    } else {
      assert.equal((await ended)[1].outcome, 'timed_out', `${value}: timed out after 1000 ms`);
    }
    worker.close();
  }
});
