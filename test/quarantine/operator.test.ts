// `cancel job` sends a job to quarantine as cancelled (never a silent delete), and the hand-off
// submits each quarantined job to the configured quarantine function as a documented JSON description.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rawWorker } from '../helpers/gearman-client.js';
import { assertNothingElse, FAST_BACKOFF, grab, jobIdOf, submitBg } from './helpers.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';

test('cancel job: a queued job goes to quarantine as cancelled', async (t) => {
  const server = await serverFor(t);
  const client = await peerFor(t, server.gearmanPort);
  const handle = await submitBg(client, 'export', 'big.csv', 'export-1');
  const quarantined = waitEvent(server.engine, 'job:quarantined', (e) => e.handle === handle);
  const admin = await peerFor(t, server.gearmanPort);
  assert.equal(await admin.admin(`cancel job ${handle}`), 'OK\r\n');
  const [entry] = await quarantined;
  assert.equal(entry.reason, 'cancelled');
  assert.deepEqual(entry.attempts, []);
  const stored = await server.engine.quarantine.get(jobIdOf(handle));
  assert.equal(stored.payload.toString(), 'big.csv');
  assert.equal(stored.unique, 'export-1');

  assert.equal(await admin.admin(`cancel job ${handle}`), 'ERR UNKNOWN_JOB\r\n', 'it is gone from the queues');
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'export');
  worker.send('GRAB_JOB');
  assert.equal((await worker.next()).name, 'NO_JOB');
});

test("cancel job: a running foreground job ends cancelled, its client gets WORK_FAIL, the worker's late answer is ignored", async (t) => {
  const server = await serverFor(t);
  const client = await peerFor(t, server.gearmanPort);
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('SET_CLIENT_ID', 'exporter');
  worker.send('CAN_DO', 'export');
  const handle = (await client.request('SUBMIT_JOB', ['export', '', 'live.csv'], 'JOB_CREATED')).text[0]!;
  assert.equal((await grab(worker)).text[0], handle);
  const quarantined = waitEvent(server.engine, 'job:quarantined', (e) => e.handle === handle);
  const admin = await peerFor(t, server.gearmanPort);
  assert.equal(await admin.admin(`cancel job ${handle}`), 'OK\r\n');
  assert.deepEqual((await client.next('WORK_FAIL')).text, [handle]);
  const [entry] = await quarantined;
  assert.equal(entry.reason, 'cancelled');
  assert.deepEqual(
    entry.attempts.map((a) => [a.outcome, a.worker]),
    [['cancelled', 'exporter']],
  );

  const ignored = waitEvent(server.engine, 'report:ignored', (h) => h === handle);
  worker.send('WORK_COMPLETE', handle, 'done anyway');
  await ignored;
  await assertNothingElse(worker);
  await assertNothingElse(client);
});

test('hand-off: the quarantine function receives a JSON description of each quarantined job', async (t) => {
  const server = await serverFor(t, {
    quarantineFunction: 'dead_letters',
    policies: [{ match: 'charge_card', maxAttempts: 2, backoff: FAST_BACKOFF }],
  });
  await rawWorker(server.gearmanPort, 'charge_card', (_payload, peer, handle) => {
    peer.send('WORK_EXCEPTION', handle, 'LAZARET-EVIDENCE {"errorClass":"CardDeclined","message":"card declined"}');
    return null;
  }).then((w) => t.after(() => w.close()));
  const received: Buffer[] = [];
  const handedOff = waitEvent(server.engine, 'job:completed', (job) => job.fn.name === 'dead_letters');
  await rawWorker(server.gearmanPort, 'dead_letters', (payload) => {
    received.push(payload);
    return Buffer.from('ticket opened');
  }).then((w) => t.after(() => w.close()));

  const client = await peerFor(t, server.gearmanPort);
  const payload = Buffer.from([0x7b, 0x00, 0xff, 0x7d]); // bytes that are not UTF-8 survive (base64)
  const handle = await submitBg(client, 'charge_card', payload, 'order-42');
  const [job] = await handedOff;
  assert.equal(job.unique, `lazaret-quarantine-${jobIdOf(handle)}`);
  assert.equal(received.length, 1);

  const description = JSON.parse(received[0]!.toString()) as Record<string, unknown>;
  assert.equal(description.id, jobIdOf(handle));
  assert.equal(description.handle, handle);
  assert.equal(description.function, 'charge_card');
  assert.equal(description.unique, 'order-42');
  assert.equal(description.priority, 'normal');
  assert.deepEqual(description.tags, []);
  assert.equal(description.deadline, null);
  assert.equal(description.reason, 'max_attempts');
  assert.equal(typeof description.detail, 'string');
  assert.ok(!Number.isNaN(Date.parse(String(description.submittedAt))));
  assert.ok(!Number.isNaN(Date.parse(String(description.quarantinedAt))));
  assert.deepEqual(Buffer.from(String(description.payloadBase64), 'base64'), payload);
  const attempts = description.attempts as { n: number; outcome: string; error: string; evidence: Record<string, unknown> }[];
  assert.deepEqual(
    attempts.map((a) => [a.n, a.outcome, a.error]),
    [
      [1, 'failed', 'card declined'],
      [2, 'failed', 'card declined'],
    ],
  );
  assert.deepEqual(attempts[0]!.evidence, { errorClass: 'CardDeclined', message: 'card declined' });
});

test("hand-off: the JSON carries the job's tags, deadline, priority and submission time", async (t) => {
  const server = await serverFor(t, { httpPort: 0, quarantineFunction: 'dead_letters', policies: [{ match: 'send_invoice', maxAttempts: 1 }] });
  await rawWorker(server.gearmanPort, 'send_invoice', (_payload, peer, handle) => {
    peer.send('WORK_FAIL', handle);
    return null;
  }).then((w) => t.after(() => w.close()));
  const received: Buffer[] = [];
  const handedOff = waitEvent(server.engine, 'job:completed', (job) => job.fn.name === 'dead_letters');
  await rawWorker(server.gearmanPort, 'dead_letters', (payload) => {
    received.push(payload);
    return Buffer.from('mailed');
  }).then((w) => t.after(() => w.close()));

  const deadline = '2099-01-01T00:00:00.000Z';
  const res = await fetch(`http://127.0.0.1:${server.httpPort}/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ function: 'send_invoice', payload: 'opaque', priority: 'high', deadline, tags: ['user_id:42', 'tenant:acme'] }),
  });
  assert.equal(res.status, 201);
  const { handle } = (await res.json()) as { handle: string };
  await handedOff;
  const { submittedAt } = await server.engine.quarantine.get(jobIdOf(handle));
  const description = JSON.parse(received[0]!.toString()) as Record<string, unknown>;
  assert.equal(description.handle, handle);
  assert.deepEqual(description.tags, ['user_id:42', 'tenant:acme']);
  assert.equal(description.deadline, deadline);
  assert.equal(description.priority, 'high');
  assert.equal(description.submittedAt, new Date(submittedAt).toISOString());
});

test('hand-off: a failing quarantine function is quarantined itself, without handing off again', async (t) => {
  const server = await serverFor(t, {
    quarantineFunction: 'dead_letters',
    policies: [{ match: '*', maxAttempts: 1, backoff: FAST_BACKOFF }],
  });
  const failAll = (_payload: Buffer, peer: { send: (type: 'WORK_FAIL', h: string) => void }, handle: string): null => {
    peer.send('WORK_FAIL', handle);
    return null;
  };
  await rawWorker(server.gearmanPort, 'charge_card', failAll).then((w) => t.after(() => w.close()));
  await rawWorker(server.gearmanPort, 'dead_letters', failAll).then((w) => t.after(() => w.close()));
  const original = waitEvent(server.engine, 'job:quarantined', (e) => e.function === 'charge_card');
  const handOff = waitEvent(server.engine, 'job:quarantined', (e) => e.function === 'dead_letters');
  const client = await peerFor(t, server.gearmanPort);
  await submitBg(client, 'charge_card', 'x');
  await original;
  const [entry] = await handOff;
  await server.engine.flush();
  assert.equal(entry.reason, 'max_attempts');
  assert.equal(server.engine.jobCount, 0, 'no hand-off of the hand-off');
  const { total } = await server.engine.quarantine.list({}, { limit: 10 });
  assert.equal(total, 2);
});
