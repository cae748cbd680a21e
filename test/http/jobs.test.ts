// Jobs over HTTP — submit, follow by SSE, fetch the result — with real Gearman workers on a
// real server, and the same for jobs submitted over Gearman.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { waitEvent } from '../helpers/events.js';
import { api, httpServer, SseReader } from './helpers.js';
import { peerFor } from '../helpers/server.js';

interface JobJson {
  handle: string;
  state: string;
  function: string;
  progress: { numerator: number; denominator: number } | null;
  attempts: number;
  tags: string[];
  result: { base64: string; text: string | null } | null;
  startedAt: string | null;
  finishedAt: string | null;
  quarantineId: number | null;
}

test('a job submitted over HTTP: progress seen through SSE by a client, result kept after completion', async (t) => {
  const server = await httpServer(t);
  const created = await api<{ handle: string; created: boolean }>(server.url, 'POST', '/api/jobs', {
    function: 'resize',
    payload: 'img-1',
    priority: 'high',
    tags: ['user_id:42', 'user_id:42', 'plan:pro'],
  });
  assert.equal(created.status, 201);
  assert.equal(created.body.created, true);
  const handle = created.body.handle;

  const queued = await api<JobJson>(server.url, 'GET', `/api/jobs/${handle}`);
  assert.equal(queued.body.state, 'queued');
  assert.deepEqual(queued.body.tags, ['user_id:42', 'plan:pro'], 'duplicates dropped');
  assert.equal(queued.body.result, null);

  const sse = await SseReader.open(`${server.url}/api/jobs/${handle}/events`);
  t.after(() => sse.close());
  assert.equal(sse.status, 200);
  assert.equal((await sse.next((e) => e.event === 'state')).data.state, 'queued');

  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'resize');
  const assign = await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
  assert.equal(assign.text[0], handle);
  assert.equal(assign.text[2], 'img-1');
  assert.equal((await sse.next((e) => e.event === 'state')).data.state, 'running');

  worker.send('WORK_STATUS', handle, '1', '4');
  const progress = await sse.next((e) => e.event === 'progress');
  assert.deepEqual(progress.data.progress, { numerator: 1, denominator: 4 });
  worker.send('WORK_STATUS', handle, '3', '4');
  assert.deepEqual((await sse.next((e) => e.event === 'progress')).data.progress, { numerator: 3, denominator: 4 });

  const running = await api<JobJson>(server.url, 'GET', `/api/jobs/${handle}`);
  assert.equal(running.body.state, 'running');
  assert.deepEqual(running.body.progress, { numerator: 3, denominator: 4 });
  assert.equal(running.body.attempts, 1);

  worker.send('WORK_COMPLETE', handle, 'small.png');
  const done = await sse.next((e) => e.event === 'state');
  assert.equal(done.data.state, 'completed');
  await sse.waitEnded();

  const after = await api<JobJson>(server.url, 'GET', `/api/jobs/${handle}`);
  assert.equal(after.status, 200);
  assert.equal(after.body.state, 'completed');
  assert.deepEqual(after.body.result, { base64: Buffer.from('small.png').toString('base64'), text: 'small.png' });
  assert.deepEqual(after.body.progress, { numerator: 3, denominator: 4 });
  assert.ok(after.body.startedAt !== null && after.body.finishedAt !== null);

  // A stream opened on a finished job gives its final state and ends.
  const late = await SseReader.open(`${server.url}/api/jobs/${handle}/events`);
  t.after(() => late.close());
  assert.equal((await late.next(() => true)).data.state, 'completed');
  await late.waitEnded();
  assert.equal((await api(server.url, 'GET', '/api/jobs/H:test:999999')).status, 404);
  assert.equal((await fetch(`${server.url}/api/jobs/H:test:999999/events`)).status, 404);
});

test('a client that leaves the event stream leaves no listener behind', async (t) => {
  const server = await httpServer(t);
  const { body } = await api<{ handle: string }>(server.url, 'POST', '/api/jobs', { function: 'slow' });
  const before = server.engine.listenerCount('job:progress');
  const sse = await SseReader.open(`${server.url}/api/jobs/${body.handle}/events`);
  await sse.next((e) => e.event === 'state');
  assert.equal(server.engine.listenerCount('job:progress'), before + 1);
  sse.close();
  const deadline = Date.now() + 5000;
  // No event tells the test that the server saw the socket close: poll briefly.
  while (server.engine.listenerCount('job:progress') !== before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(server.engine.listenerCount('job:progress'), before);
  assert.equal(server.engine.listenerCount('job:finished') <= 1, true, 'only the activity sampler still listens');
});

test('jobs submitted over Gearman: tags from the payload rule, found by tag and unique, result gone after the retention', async (t) => {
  const clock = new ManualClock(Date.now());
  const server = await httpServer(t, { tags: [{ function: 'email.*', fromPayload: ['user_id', 'account.id'] }], results: { retention: 3_600_000 } }, clock);
  const client = await peerFor(t, server.gearmanPort);
  const submit = async (fn: string, unique: string, payload: string): Promise<string> =>
    (await client.request('SUBMIT_JOB_BG', [fn, unique, payload], 'JOB_CREATED')).text[0]!;
  const h1 = await submit('email.send', 'mail-1', JSON.stringify({ user_id: 42, account: { id: 'acme' } }));
  const h2 = await submit('email.send', 'mail-2', '{not json');
  const h3 = await submit('resize', 'img-2', JSON.stringify({ user_id: 42 }));

  assert.deepEqual((await api<JobJson>(server.url, 'GET', `/api/jobs/${h1}`)).body.tags, ['user_id:42', 'account.id:acme']);
  assert.deepEqual((await api<JobJson>(server.url, 'GET', `/api/jobs/${h2}`)).body.tags, [], 'a payload that is not JSON gets no tags');
  assert.deepEqual((await api<JobJson>(server.url, 'GET', `/api/jobs/${h3}`)).body.tags, [], 'the rule is per function');

  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'email.send');
  for (let i = 0; i < 2; i++) {
    const a = await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
    const done = waitEvent(server.engine, 'job:finished', (o) => o.handle === a.text[0]);
    worker.send('WORK_COMPLETE', a.text[0]!, Buffer.from([0xff, 0x00, 0x01]));
    await done;
  }
  const byTag = await api<{ jobs: JobJson[] }>(server.url, 'GET', '/api/jobs?tag=user_id:42');
  assert.deepEqual(
    byTag.body.jobs.map((j) => [j.handle, j.state]),
    [[h1, 'completed']],
  );
  assert.equal(byTag.body.jobs[0]!.result, undefined, 'listings leave the result out');
  const byUnique = await api<{ jobs: JobJson[] }>(server.url, 'GET', '/api/jobs?unique=img-2');
  assert.deepEqual(
    byUnique.body.jobs.map((j) => [j.handle, j.state]),
    [[h3, 'queued']],
  );
  const byFunction = await api<{ jobs: JobJson[] }>(server.url, 'GET', '/api/jobs?function=email.send&limit=1');
  assert.equal(byFunction.body.jobs.length, 1);

  const result = (await api<JobJson>(server.url, 'GET', `/api/jobs/${h2}`)).body.result;
  assert.deepEqual(result, { base64: Buffer.from([0xff, 0x00, 0x01]).toString('base64'), text: null }, 'binary results are base64 only');

  clock.advance(3_600_000 + 1);
  assert.equal((await api(server.url, 'GET', `/api/jobs/${h1}`)).status, 404, 'gone after the retention');
  await server.engine.results.prune();
  assert.deepEqual(await server.engine.store.outcomesFind({ finishedSince: 0, limit: 10 }), [], 'and pruned from the store');
});

test('POST /api/jobs: coalescing on unique, run-at, validation errors with stable codes', async (t) => {
  const server = await httpServer(t);
  const a = await api<{ handle: string; created: boolean }>(server.url, 'POST', '/api/jobs', {
    function: 'f',
    unique: 'u1',
    payloadBase64: Buffer.from([1, 2]).toString('base64'),
  });
  const b = await api<{ handle: string; created: boolean }>(server.url, 'POST', '/api/jobs', { function: 'f', unique: 'u1' });
  assert.equal(b.body.handle, a.body.handle);
  assert.equal(b.body.created, false);
  const later = new Date(Date.now() + 3_600_000).toISOString();
  const s = await api<{ handle: string }>(server.url, 'POST', '/api/jobs', { function: 'f', runAt: later });
  const scheduled = await api<JobJson & { runAt: string }>(server.url, 'GET', `/api/jobs/${s.body.handle}`);
  assert.equal(scheduled.body.state, 'scheduled');
  assert.equal(scheduled.body.runAt, later);
  for (const bad of [
    {},
    { function: '' },
    { function: 'f', priority: 'urgent' },
    { function: 'f', tags: [''] },
    { function: 'f', payload: 'a', payloadBase64: 'YQ==' },
    { function: 'f', unique: 'x'.repeat(65) },
  ]) {
    const res = await api<{ error: { code: string } }>(server.url, 'POST', '/api/jobs', bad);
    assert.equal(res.status, 400, JSON.stringify(bad));
    assert.equal(res.body.error.code, 'LAZ_BAD_REQUEST');
  }
});

test('results.retention 0: nothing is kept once a job finishes', async (t) => {
  const server = await httpServer(t, { results: { retention: 0 } });
  const { body } = await api<{ handle: string }>(server.url, 'POST', '/api/jobs', { function: 'f', tags: ['user_id:1'] });
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'f');
  await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
  const done = waitEvent(server.engine, 'job:finished', (o) => o.handle === body.handle);
  worker.send('WORK_COMPLETE', body.handle, 'x');
  await done;
  assert.equal((await api(server.url, 'GET', `/api/jobs/${body.handle}`)).status, 404);
  assert.deepEqual(await server.engine.store.outcomesFind({ finishedSince: 0, limit: 10 }), []);
});
