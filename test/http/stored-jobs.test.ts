// The HTTP API over jobs only the store holds: a small window (queue.window 4) and a backlog larger than
// it, so most jobs wait in the store, not in memory. Their view, their event stream followed to the end,
// the jobs list by tag, unique and function, and the impact report all see them, each job once.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { waitEvent } from '../helpers/events.js';
import { peerFor } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';
import { api, grab, httpServer, SseReader } from './helpers.js';

interface JobJson {
  handle: string;
  state: string;
  function: string;
  unique: string;
  attempts: number;
  tags: string[];
}

interface ImpactJson {
  rows: { tag: string; jobs: number; waitedTooLong: number; worstWaitMs: number }[];
}

const WINDOW = 4;
const BACKLOG = 10;

test('a backlog beyond the window: store-only jobs have a view, are listed by tag, unique and function, count in the impact report, and their stream follows them to the end', async (t) => {
  const clock = new ManualClock(Date.now());
  const server = await httpServer(t, { queue: { window: WINDOW }, results: { retention: 3_600_000 } }, clock);
  const handles: string[] = [];
  for (let i = 1; i <= BACKLOG; i++) {
    const created = await api<{ handle: string }>(server.url, 'POST', '/api/jobs', {
      function: 'backlog',
      payload: `job ${i}`,
      unique: `u-${i}`,
      tags: ['batch:1', `user_id:${i}`],
    });
    assert.equal(created.status, 201);
    handles.push(created.body.handle);
  }
  const last = handles.at(-1)!;
  assert.equal(server.engine.jobCount, WINDOW, 'memory holds the window, no more');
  assert.equal(server.engine.job(last), undefined, 'the last job waits in the store only');

  // Its view.
  const view = await api<JobJson>(server.url, 'GET', `/api/jobs/${encodeURIComponent(last)}`);
  assert.equal(view.status, 200);
  assert.equal(view.body.state, 'queued');
  assert.deepEqual(view.body.tags, ['batch:1', `user_id:${BACKLOG}`]);

  // Its stream stays open.
  const sse = await SseReader.open(`${server.url}/api/jobs/${encodeURIComponent(last)}/events`);
  t.after(() => sse.close());
  assert.equal(sse.status, 200);
  assert.equal((await sse.next((e) => e.event === 'state')).data.state, 'queued');

  // The list: memory and store, each job once.
  const list = async (query: string): Promise<JobJson[]> => {
    const res = await api<{ jobs: JobJson[] }>(server.url, 'GET', `/api/jobs?${query}`);
    assert.equal(res.status, 200, query);
    return res.body.jobs;
  };
  const byTag = await list('tag=batch:1');
  assert.deepEqual(byTag.map((j) => j.handle).sort(), [...handles].sort(), 'every job of the tag, in memory or in the store');
  assert.ok(byTag.every((j) => j.state === 'queued'));
  assert.deepEqual(
    (await list(`tag=user_id:${BACKLOG}`)).map((j) => [j.handle, j.state]),
    [[last, 'queued']],
  );
  assert.deepEqual(
    (await list(`unique=u-${BACKLOG}`)).map((j) => j.handle),
    [last],
  );
  assert.deepEqual(
    (await list(`function=backlog&unique=u-${BACKLOG}`)).map((j) => j.handle),
    [last],
  );
  const byFunction = await list('function=backlog');
  assert.equal(new Set(byFunction.map((j) => j.handle)).size, BACKLOG, 'no job twice');
  assert.deepEqual(
    byFunction.map((j) => j.handle),
    handles,
    'memory (the window) first, then the store in line',
  );
  assert.deepEqual(
    (await list('function=backlog&limit=6')).map((j) => j.handle),
    handles.slice(0, 6),
    'the limit counts both',
  );
  assert.deepEqual(await list('function=backlog&unique=nothing'), []);

  // The impact report: ten minutes without a worker, every job waited too long, each counted once.
  clock.advance(10 * 60_000);
  const impact = await api<ImpactJson>(server.url, 'GET', '/api/impact?since=1h&waitedLongerThan=5m');
  assert.equal(impact.status, 200);
  const batch = impact.body.rows.find((r) => r.tag === 'batch:1');
  assert.ok(batch, JSON.stringify(impact.body.rows));
  assert.equal(batch.jobs, BACKLOG, 'the window from memory, the rest from the store');
  assert.equal(batch.waitedTooLong, BACKLOG);
  assert.ok(batch.worstWaitMs >= 10 * 60_000);
  const lastRow = impact.body.rows.find((r) => r.tag === `user_id:${BACKLOG}`);
  assert.deepEqual(lastRow && [lastRow.jobs, lastRow.waitedTooLong], [1, 1], 'a job only the store holds');
  const byKey = await api<ImpactJson>(server.url, 'GET', '/api/impact?since=1h&waitedLongerThan=5m&by=batch');
  assert.deepEqual(
    byKey.body.rows.map((r) => [r.tag, r.jobs]),
    [['batch:1', BACKLOG]],
  );

  // A worker drains the backlog; the stream follows the last job out of the store to its end.
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'backlog');
  for (const expected of handles) {
    const assign = await grab(worker);
    assert.equal(assign.text[0], expected, 'in line');
    const done = waitEvent(server.engine, 'job:finished', (o) => o.handle === expected);
    worker.send('WORK_COMPLETE', expected, `done ${expected}`);
    await done;
  }
  assert.equal((await sse.next((e) => e.event === 'state' && e.data.state === 'running')).data.handle, last);
  assert.equal((await sse.next((e) => e.event === 'state')).data.state, 'completed');
  await sse.waitEnded();
  assert.equal(
    sse.events.some((e) => e.event === 'gone'),
    false,
  );

  // Finished: the list shows the outcomes, each once.
  const finished = await list('tag=batch:1');
  assert.deepEqual(finished.map((j) => j.handle).sort(), [...handles].sort());
  assert.ok(finished.every((j) => j.state === 'completed'));
});

test('a stream follows a durable job through a retry backoff spent in the store, and does not call it gone', async (t) => {
  const server = await httpServer(t, {
    queue: { window: WINDOW },
    policies: [{ match: 'flaky', maxAttempts: 3, backoff: { type: 'fixed', base: 1500, cap: 1500, jitter: false } }],
  });
  const { body } = await api<{ handle: string }>(server.url, 'POST', '/api/jobs', { function: 'flaky', payload: 'x' });
  const handle = body.handle;
  const sse = await SseReader.open(`${server.url}/api/jobs/${encodeURIComponent(handle)}/events`);
  t.after(() => sse.close());
  assert.equal((await sse.next((e) => e.event === 'state')).data.state, 'queued');

  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'flaky');
  assert.equal((await grab(worker)).text[0], handle);
  assert.equal((await sse.next((e) => e.event === 'state')).data.state, 'running');
  const retry = waitEvent(server.engine, 'job:retry', (j) => j.handle === handle);
  worker.send('WORK_FAIL', handle);
  await retry;
  assert.equal((await sse.next((e) => e.event === 'state')).data.state, 'scheduled');
  // The backoff is spent in the store: memory has let the job go.
  assert.equal(server.engine.job(handle), undefined);
  assert.equal((await api<JobJson>(server.url, 'GET', `/api/jobs/${encodeURIComponent(handle)}`)).body.state, 'scheduled');

  // Due again, it comes back through the window and runs.
  assert.equal((await grab(worker)).text[0], handle);
  assert.equal((await sse.next((e) => e.event === 'state' && e.data.state === 'running')).data.attempts, 2);
  worker.send('WORK_COMPLETE', handle, 'ok');
  assert.equal((await sse.next((e) => e.event === 'state')).data.state, 'completed');
  await sse.waitEnded();
  assert.equal(
    sse.events.some((e) => e.event === 'gone'),
    false,
  );
});

test('a stream on a job only the store holds reads it there now and then, and stays open while it waits', async (t) => {
  const server = await httpServer(t, { queue: { window: WINDOW } });
  const handles: string[] = [];
  for (let i = 0; i < WINDOW + 2; i++) handles.push((await api<{ handle: string }>(server.url, 'POST', '/api/jobs', { function: 'unserved' })).body.handle);
  const last = handles.at(-1)!;
  assert.equal(server.engine.job(last), undefined);
  const store = server.engine.store;
  const jobGet = store.jobGet.bind(store);
  let reads = 0;
  store.jobGet = async (id) => {
    const row = await jobGet(id);
    if (row?.handle === last) reads++;
    return row;
  };
  t.after(() => {
    store.jobGet = jobGet;
  });
  const sse = await SseReader.open(`${server.url}/api/jobs/${encodeURIComponent(last)}/events`);
  t.after(() => sse.close());
  assert.equal((await sse.next((e) => e.event === 'state')).data.state, 'queued');
  const opened = reads;
  // The look-up at open, then the sweeps' ones: the store still has it, so the stream goes on.
  await eventually(() => reads >= opened + 2, 'two look-ups of the stored job after the stream opened');
  assert.equal(sse.ended, false);
  assert.deepEqual(
    sse.events.map((e) => [e.event, e.data.state]),
    [['state', 'queued']],
  );
});
