// Client side of the binary protocol against a real server: every SUBMIT form, scheduled jobs, status queries, ECHO, OPTION_REQ, SET_CLIENT_ID, and
// the forwarding of worker reports to every attached client.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { assertSilent, sync } from './util.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';

const HANDLE = /^H:test:\d+$/;

test('every SUBMIT form answers JOB_CREATED in order; priority and background are honoured', async (t) => {
  const server = await serverFor(t);
  const client = await peerFor(t, server);
  const admin = await peerFor(t, server);
  // Pipelined in one write: replies must come back in submission order.
  const forms = ['SUBMIT_JOB_LOW_BG', 'SUBMIT_JOB_BG', 'SUBMIT_JOB_HIGH_BG', 'SUBMIT_JOB_LOW', 'SUBMIT_JOB', 'SUBMIT_JOB_HIGH'] as const;
  for (const form of forms) client.send(form, 'f', '', form);
  const handles: string[] = [];
  for (let i = 0; i < forms.length; i++) {
    const created = await client.next('JOB_CREATED');
    assert.match(created.text[0]!, HANDLE);
    handles.push(created.text[0]!);
  }
  assert.equal(new Set(handles).size, forms.length, 'every new job has its own handle');
  const numbers = handles.map((h) => Number(h.slice('H:test:'.length)));
  assert.deepEqual(
    [...numbers].sort((a, b) => a - b),
    numbers,
    'handle numbers follow submission order',
  );

  assert.equal(await admin.admin('prioritystatus'), 'f\t2\t2\t2\t0\n.\n');
  assert.equal(await admin.admin('status'), 'f\t6\t0\t0\n.\n');
  const shown = (await admin.admin('show jobs')).split('\n').filter((l) => l.startsWith('H:'));
  const persisted = new Map(shown.map((l) => [l.split('\t')[0]!, l.split('\t')[3]]));
  forms.forEach((form, i) => assert.equal(persisted.get(handles[i]!), form.endsWith('_BG') ? '1' : '0', `${form} persisted flag`));

  const worker = await peerFor(t, server);
  worker.send('CAN_DO', 'f');
  const order: string[] = [];
  for (let i = 0; i < forms.length; i++) {
    const a = await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
    assert.equal(a.text[1], 'f');
    order.push(a.text[2]!);
    worker.send('WORK_COMPLETE', a.args[0]!, `done ${a.text[2]}`);
  }
  assert.deepEqual(
    order.map((p) => (p.includes('HIGH') ? 'high' : p.includes('LOW') ? 'low' : 'normal')),
    ['high', 'high', 'normal', 'normal', 'low', 'low'],
  );
  // Only the foreground submissions hear back, each once, in completion order.
  const results = [];
  for (let i = 0; i < 3; i++) results.push((await client.next('WORK_COMPLETE')).text);
  assert.deepEqual(results, [
    [handles[5], 'done SUBMIT_JOB_HIGH'],
    [handles[4], 'done SUBMIT_JOB'],
    [handles[3], 'done SUBMIT_JOB_LOW'],
  ]);
  await assertSilent(client, 'background jobs report nothing to their submitter');
  await assertSilent(worker, 'worker after six results');
  assert.equal(await admin.admin('status'), 'f\t0\t0\t1\n.\n');
});

test('SUBMIT_JOB_EPOCH: not handed out before its time; when due a sleeping worker gets NOOP (B11 improved)', async (t) => {
  const clock = new ManualClock();
  const server = await serverFor(t, {}, { clock });
  const client = await peerFor(t, server);
  const worker = await peerFor(t, server);
  const admin = await peerFor(t, server);
  const epoch = Math.floor(clock.now() / 1000) + 60;
  worker.send('CAN_DO', 'later');
  const created = await client.request('SUBMIT_JOB_EPOCH', ['later', 'e1', String(epoch), 'tick'], 'JOB_CREATED');
  const handle = created.text[0]!;
  assert.match(handle, HANDLE);
  assert.equal(await admin.admin('status'), 'later\t1\t0\t1\n.\n');
  assert.equal(await admin.admin('prioritystatus'), 'later\t0\t1\t0\t1\n.\n');
  assert.deepEqual((await client.request('GET_STATUS', [handle], 'STATUS_RES')).text, [handle, '1', '0', '0', '0']);

  await worker.request('GRAB_JOB', [], 'NO_JOB');
  worker.send('PRE_SLEEP');
  await assertSilent(worker, 'PRE_SLEEP with only a future job');
  clock.advance(59_000);
  await assertSilent(worker, 'one second before the epoch');
  const queued = waitEvent(server.engine, 'job:queued', (job) => job.handle === handle);
  clock.advance(1_000);
  await queued;
  const noop = await worker.next();
  assert.equal(noop.name, 'NOOP', 'the due job wakes the sleeping worker');
  const a = await worker.request('GRAB_JOB_UNIQ', [], 'JOB_ASSIGN_UNIQ');
  assert.deepEqual(a.text, [handle, 'later', 'e1', 'tick']);
  worker.send('WORK_COMPLETE', handle, '');
  await waitEvent(server.engine, 'job:completed', (job) => job.handle === handle);
  assert.equal(await admin.admin('status'), 'later\t0\t0\t1\n.\n');
});

test("SUBMIT_JOB_EPOCH beyond setTimeout's 24.8-day ceiling does not run early on the real clock", async (t) => {
  // A later 20 ms policy timeout is the yardstick: a timer clamped to 1 ms would have fired before it.
  const server = await serverFor(t, { policies: [{ match: 'tick', timeout: 20 }] });
  const client = await peerFor(t, server);
  const sleeper = await peerFor(t, server);
  const ticker = await peerFor(t, server);
  const admin = await peerFor(t, server);
  const epoch = Math.floor(Date.now() / 1000) + 40 * 86_400;
  const early: string[] = [];
  server.engine.on('job:queued', (job) => void (job.fn.name === 'far' && early.push(job.handle)));
  sleeper.send('CAN_DO', 'far');
  sleeper.send('PRE_SLEEP');
  const far = (await client.request('SUBMIT_JOB_EPOCH', ['far', '', String(epoch), 'next month'], 'JOB_CREATED')).text[0]!;
  ticker.send('CAN_DO', 'tick');
  const tick = (await client.request('SUBMIT_JOB_BG', ['tick', '', 'x'], 'JOB_CREATED')).text[0]!;
  const ended = waitEvent(server.engine, 'attempt:ended', (job) => job.handle === tick);
  await ticker.request('GRAB_JOB', [], 'JOB_ASSIGN');
  assert.equal((await ended)[1].outcome, 'timed_out');
  assert.deepEqual(early, [], `${far} became runnable 40 days early`);
  await assertSilent(sleeper, 'no NOOP for a job due in 40 days');
  await sleeper.request('GRAB_JOB', [], 'NO_JOB');
  assert.ok((await admin.admin('prioritystatus')).includes('far\t0\t1\t0\t1\n'));
});

test('SUBMIT_JOB_EPOCH in the past or unparsable runs at once; after year 9999 is refused', async (t) => {
  const clock = new ManualClock();
  const server = await serverFor(t, {}, { clock });
  const client = await peerFor(t, server);
  const worker = await peerFor(t, server);
  worker.send('CAN_DO', 'now');
  const past = String(Math.floor(clock.now() / 1000) - 3600);
  const h1 = (await client.request('SUBMIT_JOB_EPOCH', ['now', '', past, 'past'], 'JOB_CREATED')).text[0];
  const h2 = (await client.request('SUBMIT_JOB_EPOCH', ['now', '', 'garbage', 'garbage'], 'JOB_CREATED')).text[0];
  const refused = await client.request('SUBMIT_JOB_EPOCH', ['now', '', '99999999999999', 'far'], 'ERROR');
  assert.equal(refused.text[0], 'INVALID_ARGUMENT');
  const a1 = await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
  const a2 = await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
  assert.deepEqual([a1.text[0], a1.text[2], a2.text[0], a2.text[2]], [h1, 'past', h2, 'garbage']);
  await worker.request('GRAB_JOB', [], 'NO_JOB');
});

test('SUBMIT_JOB_SCHED runs at the next matching minute; a bad field is an ERROR', async (t) => {
  // ManualClock starts at 2026-01-01T00:00:00Z, a Thursday.
  const clock = new ManualClock();
  const server = await serverFor(t, {}, { clock });
  const client = await peerFor(t, server);
  const worker = await peerFor(t, server);
  worker.send('CAN_DO', 'cron');
  const created = await client.request('SUBMIT_JOB_SCHED', ['cron', 's1', '30', '', '', '', '', 'half past'], 'JOB_CREATED');
  const handle = created.text[0]!;
  await worker.request('GRAB_JOB', [], 'NO_JOB');
  worker.send('PRE_SLEEP');
  await assertSilent(worker, 'sleeping before 00:30');
  clock.advance(29 * 60_000);
  await assertSilent(worker, 'at 00:29');
  clock.advance(60_000);
  assert.equal((await worker.next()).name, 'NOOP');
  assert.deepEqual((await worker.request('GRAB_JOB', [], 'JOB_ASSIGN')).text, [handle, 'cron', 'half past']);

  const bad: [string, string][] = [
    ['60', 'minute'],
    ['x', 'minute'],
  ];
  for (const [minute, name] of bad) {
    const e = await client.request('SUBMIT_JOB_SCHED', ['cron', '', minute, '', '', '', '', 'p'], 'ERROR');
    assert.equal(e.text[0], 'INVALID_ARGUMENT');
    assert.match(e.text[1]!, new RegExp(`SUBMIT_JOB_SCHED ${name} must be 0-59`));
  }
  for (const [fields, name] of [
    [['', '24', '', '', ''], 'hour'],
    [['', '', '0', '', ''], 'day of month'],
    [['', '', '', '13', ''], 'month'],
    [['', '', '', '', '7'], 'day of week'],
  ] as const) {
    const e = await client.request('SUBMIT_JOB_SCHED', ['cron', '', ...fields, 'p'], 'ERROR');
    assert.equal(e.text[0], 'INVALID_ARGUMENT');
    assert.match(e.text[1]!, new RegExp(`SUBMIT_JOB_SCHED ${name} must be`));
  }
  // 31 February never comes.
  const never = await client.request('SUBMIT_JOB_SCHED', ['cron', '', '0', '0', '31', '2', '', 'p'], 'ERROR');
  assert.equal(never.text[0], 'INVALID_ARGUMENT');
  // The connection is still usable after the refusals.
  await client.request('SUBMIT_JOB_SCHED', ['cron', '', '', '', '', '', '', 'any minute'], 'JOB_CREATED');
});

test('GET_STATUS: unknown handles echo as 0 0 0 0; a known job reports running and progress', async (t) => {
  const server = await serverFor(t);
  const client = await peerFor(t, server);
  const worker = await peerFor(t, server);
  for (const unknown of ['H:test:999999', 'nonsense', '', 'H:test:01']) {
    const r = await client.request('GET_STATUS', [unknown], 'STATUS_RES');
    assert.deepEqual(r.text, [unknown, '0', '0', '0', '0']);
  }
  const handle = (await client.request('SUBMIT_JOB', ['st', '', 'x'], 'JOB_CREATED')).text[0]!;
  assert.deepEqual((await client.request('GET_STATUS', [handle], 'STATUS_RES')).text, [handle, '1', '0', '0', '0']);
  worker.send('CAN_DO', 'st');
  await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
  await sync(worker);
  assert.deepEqual((await client.request('GET_STATUS', [handle], 'STATUS_RES')).text, [handle, '1', '1', '0', '0']);
  worker.send('WORK_STATUS', handle, '3', '7');
  assert.deepEqual((await client.next('WORK_STATUS')).text, [handle, '3', '7']);
  // Any connection may ask about any handle.
  const other = await peerFor(t, server);
  assert.deepEqual((await other.request('GET_STATUS', [handle], 'STATUS_RES')).text, [handle, '1', '1', '3', '7']);
  worker.send('WORK_COMPLETE', handle, 'ok');
  await client.next('WORK_COMPLETE');
  assert.deepEqual((await other.request('GET_STATUS', [handle], 'STATUS_RES')).text, [handle, '0', '0', '0', '0']);
});

test('GET_STATUS_UNIQUE counts attached foreground clients only', async (t) => {
  const server = await serverFor(t);
  const [c1, c2, bg] = [await peerFor(t, server), await peerFor(t, server), await peerFor(t, server)];
  const h1 = (await c1.request('SUBMIT_JOB', ['gu', 'shared', 'a'], 'JOB_CREATED')).text[0];
  const h2 = (await c2.request('SUBMIT_JOB_HIGH', ['gu', 'shared', 'b'], 'JOB_CREATED')).text[0];
  const h3 = (await bg.request('SUBMIT_JOB_BG', ['gu', 'shared', 'c'], 'JOB_CREATED')).text[0];
  assert.equal(h2, h1);
  assert.equal(h3, h1);
  assert.deepEqual((await bg.request('GET_STATUS_UNIQUE', ['shared'], 'STATUS_RES_UNIQUE')).text, ['shared', '1', '0', '0', '0', '2']);
  assert.deepEqual((await bg.request('GET_STATUS_UNIQUE', ['nobody'], 'STATUS_RES_UNIQUE')).text, ['nobody', '0', '0', '0', '0', '0']);
  // One client leaves: the count follows.
  c2.close();
  await c2.waitClosed();
  for (let i = 0; ; i++) {
    const r = await bg.request('GET_STATUS_UNIQUE', ['shared'], 'STATUS_RES_UNIQUE');
    if (r.text[5] === '1') break;
    assert.ok(i < 200, `client count stayed ${r.text[5]}`);
  }
});

test('ECHO_REQ returns the body unchanged, empty or with NULs', async (t) => {
  const server = await serverFor(t);
  const peer = await peerFor(t, server);
  const bodies = [Buffer.alloc(0), Buffer.from([0]), Buffer.from('a\0b\0\0c'), Buffer.from([0xff, 0x00, 0x80, 0x0a, 0x0d]), Buffer.alloc(70_000, 7)];
  for (const body of bodies) {
    const r = await peer.request('ECHO_REQ', [body], 'ECHO_RES');
    assert.equal(r.args.length, 1);
    assert.ok(r.args[0]!.equals(body), `echo of ${body.length} bytes`);
  }
});

test('OPTION_REQ: exceptions is echoed in any case; anything else is UNKNOWN_OPTION', async (t) => {
  const server = await serverFor(t);
  const peer = await peerFor(t, server);
  for (const name of ['exceptions', 'EXCEPTIONS', 'Exceptions']) {
    assert.deepEqual((await peer.request('OPTION_REQ', [name], 'OPTION_RES')).text, [name]);
  }
  for (const name of ['bogus', '', 'exceptions ', 'x'.repeat(70)]) {
    const e = await peer.request('OPTION_REQ', [name], 'ERROR');
    assert.deepEqual(e.text, ['UNKNOWN_OPTION', 'Server does not recognize given option']);
  }
  await peer.request('ECHO_REQ', ['still here'], 'ECHO_RES');
});

test('SET_CLIENT_ID names the connection in admin workers', async (t) => {
  const server = await serverFor(t);
  const client = await peerFor(t, server);
  const worker = await peerFor(t, server);
  const admin = await peerFor(t, server);
  client.send('SET_CLIENT_ID', 'the-client');
  worker.send('SET_CLIENT_ID', 'the-worker');
  worker.send('CAN_DO', 'f1');
  worker.send('CAN_DO', 'f2');
  await assertSilent(client, 'SET_CLIENT_ID has no reply');
  await assertSilent(worker, 'SET_CLIENT_ID and CAN_DO have no reply');
  const lines = (await admin.admin('workers')).split('\n');
  assert.equal(lines.at(-1), '');
  assert.equal(lines.at(-2), '.');
  assert.ok(
    lines.some((l) => /^\d+ 127\.0\.0\.1 the-client :$/.test(l)),
    lines.join('|'),
  );
  assert.ok(
    lines.some((l) => /^\d+ 127\.0\.0\.1 the-worker : f2 f1$/.test(l)),
    lines.join('|'),
  );
  assert.ok(
    lines.some((l) => /^\d+ 127\.0\.0\.1 - :$/.test(l)),
    'the admin connection itself is listed',
  );
  // A long id is cut to 127 bytes, as gearmand does.
  client.send('SET_CLIENT_ID', 'x'.repeat(300));
  await sync(client);
  assert.ok((await admin.admin('workers')).includes(` ${'x'.repeat(127)} :\n`));
});

test('worker reports reach every client attached to a coalesced job, byte for byte', async (t) => {
  const server = await serverFor(t);
  const clients = [await peerFor(t, server), await peerFor(t, server), await peerFor(t, server)];
  const worker = await peerFor(t, server);
  const handles = [];
  for (const c of clients) handles.push((await c.request('SUBMIT_JOB', ['fw', 'same', 'payload'], 'JOB_CREATED')).text[0]);
  assert.equal(new Set(handles).size, 1);
  const handle = handles[0]!;
  worker.send('CAN_DO', 'fw');
  const assigned = await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
  assert.equal(assigned.text[0], handle);

  const binary = Buffer.from([0, 1, 2, 0, 0xff, 0x0a, 0]);
  const reports = [
    { name: 'WORK_STATUS', args: [handle, '12', '345'] },
    { name: 'WORK_DATA', args: [handle, binary] },
    { name: 'WORK_WARNING', args: [handle, Buffer.from('warn\0ing')] },
    { name: 'WORK_DATA', args: [handle, Buffer.alloc(0)] },
    { name: 'WORK_COMPLETE', args: [handle, Buffer.concat([binary, Buffer.from('end')])] },
  ] as const;
  for (const r of reports) worker.send(r.name, ...r.args);
  for (const c of clients) {
    for (const r of reports) {
      const got = await c.next();
      assert.equal(got.name, r.name);
      assert.equal(got.args.length, r.args.length);
      r.args.forEach((a, i) => assert.ok(got.args[i]!.equals(Buffer.from(a)), `${r.name} arg ${i}`));
    }
    await assertSilent(c, 'after WORK_COMPLETE');
  }
  await assertSilent(worker, 'reports for an owned job get no reply');
});

test('WORK_FAIL and WORK_EXCEPTION: exception clients get the exception, others a bare-handle WORK_FAIL (B8 improved)', async (t) => {
  const server = await serverFor(t);
  const withExc = await peerFor(t, server);
  const without = await peerFor(t, server);
  const worker = await peerFor(t, server);
  await withExc.request('OPTION_REQ', ['exceptions'], 'OPTION_RES');
  worker.send('CAN_DO', 'boom');

  const h = (await withExc.request('SUBMIT_JOB', ['boom', 'u', 'x'], 'JOB_CREATED')).text[0]!;
  assert.equal((await without.request('SUBMIT_JOB', ['boom', 'u', 'x'], 'JOB_CREATED')).text[0], h);
  await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
  const detail = Buffer.from('trace\0with NUL');
  worker.send('WORK_EXCEPTION', h, detail);
  const e = await withExc.next('WORK_EXCEPTION');
  assert.equal(e.text[0], h);
  assert.ok(e.args[1]!.equals(detail));
  const f = await without.next('WORK_FAIL');
  assert.equal(f.args.length, 1);
  assert.ok(f.args[0]!.equals(Buffer.from(h)), 'the bare handle, no trailing NUL');
  await assertSilent(worker, 'WORK_EXCEPTION of an owned job');

  const h2 = (await withExc.request('SUBMIT_JOB', ['boom', 'v', 'y'], 'JOB_CREATED')).text[0]!;
  assert.equal((await without.request('SUBMIT_JOB', ['boom', 'v', 'y'], 'JOB_CREATED')).text[0], h2);
  await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
  worker.send('WORK_FAIL', h2);
  for (const c of [withExc, without]) {
    const r = await c.next('WORK_FAIL');
    assert.ok(r.args[0]!.equals(Buffer.from(h2)));
    await assertSilent(c, 'after WORK_FAIL');
  }
  // gearmand never retries a failed foreground job.
  await worker.request('GRAB_JOB', [], 'NO_JOB');
});
