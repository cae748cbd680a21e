// Bounds on job event streams (SSE): caps on how many are open, progress coalesced for a reader that
// is behind, slow readers dropped, no listener per stream, and the end of a stream whose job left.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { api, httpServer, SseReader } from './helpers.js';
import { peerFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';
import { eventually } from '../helpers/wait.js';

type Server = Awaited<ReturnType<typeof httpServer>>;

async function submit(server: Server, fn: string): Promise<string> {
  return (await api<{ handle: string }>(server.url, 'POST', '/api/jobs', { function: fn })).body.handle;
}

async function open(t: TestContext, server: Server, handle: string): Promise<SseReader> {
  const sse = await SseReader.open(`${server.url}/api/jobs/${encodeURIComponent(handle)}/events`);
  t.after(() => sse.close());
  if (sse.status === 200) await sse.next((e) => e.event === 'state');
  return sse;
}

test('streams are capped per job and in all, with 503 LAZ_TOO_MANY_STREAMS; a closed stream frees its slot', async (t) => {
  const server = await httpServer(t, { http: { maxEventStreams: 3, maxEventStreamsPerJob: 2 } });
  const a = await submit(server, 'capped');
  const b = await submit(server, 'capped');
  const c = await submit(server, 'capped');
  const first = await open(t, server, a);
  await open(t, server, a);
  const third = await fetch(`${server.url}/api/jobs/${a}/events`);
  assert.equal(third.status, 503);
  assert.equal(((await third.json()) as { error: { code: string } }).error.code, 'LAZ_TOO_MANY_STREAMS');
  await open(t, server, b);
  const global = await fetch(`${server.url}/api/jobs/${c}/events`);
  assert.equal(global.status, 503, 'three open in all');
  await global.body?.cancel();

  first.close();
  // The server notices the closed socket on its own; no event announces it.
  await eventually(async () => {
    const res = await fetch(`${server.url}/api/jobs/${c}/events`);
    await res.body?.cancel();
    return res.status === 200;
  }, 'a slot is free');
  // A finished job's stream is one event and holds no slot, even at the cap.
  assert.equal((await fetch(`${server.url}/api/jobs/H:test:424242/events`)).status, 404);
});

test('many streams share one set of engine listeners: no listener-leak warning', async (t) => {
  const server = await httpServer(t);
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const before = server.engine.listenerCount('job:progress');
  const one = await submit(server, 'watched');
  const streams: SseReader[] = [];
  for (let i = 0; i < 12; i++) streams.push(await open(t, server, one));
  for (let i = 0; i < 12; i++) streams.push(await open(t, server, await submit(server, 'watched')));
  assert.equal(server.engine.listenerCount('job:progress'), before + 1);
  assert.equal(server.engine.listenerCount('job:finished') <= 2, true);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(
    warnings.filter((w) => w.name === 'MaxListenersExceededWarning'),
    [],
  );
  for (const s of streams) s.close();
  await eventually(() => server.engine.listenerCount('job:progress') === before, 'every stream is closed');
});

/** An event-stream request on a raw socket that then stops reading: the kernel buffers fill up. */
async function stalledReader(t: TestContext, server: Server, handle: string): Promise<Socket> {
  const socket = connect({ port: server.httpPort!, host: '127.0.0.1' });
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  socket.write(`GET /api/jobs/${handle}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
  await once(socket, 'data');
  socket.pause();
  return socket;
}

/** Resumes reading and returns every event, until the server ends or drops the stream. */
async function drain(socket: Socket): Promise<{ event: string; data: { state?: string; progress?: { numerator: number } | null } }[]> {
  let text = '';
  socket.setEncoding('utf8');
  socket.on('error', () => undefined);
  // Ended: the last chunk of a chunked response (the connection itself is kept alive); dropped: closed.
  await new Promise<void>((resolve) => {
    socket.on('data', (c: string) => {
      text += c;
      if (text.endsWith('\r\n0\r\n\r\n')) resolve();
    });
    socket.on('close', () => resolve());
    socket.resume();
  });
  return [...text.matchAll(/^event: (.*)\ndata: (.*)$/gm)].map((m) => ({ event: m[1]!, data: JSON.parse(m[2]!) }));
}

async function floodProgress(t: TestContext, server: Server, handle: string, updates: number): Promise<void> {
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'flood');
  await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
  const finished = waitEvent(server.engine, 'job:finished', (o) => o.handle === handle);
  for (let i = 1; i <= updates; i++) worker.send('WORK_STATUS', handle, String(i), String(updates));
  worker.send('WORK_COMPLETE', handle, 'done');
  await finished;
}

const UPDATES = 50_000;

test('a reader that is behind gets the latest progress, not every update', async (t) => {
  const server = await httpServer(t);
  const handle = await submit(server, 'flood');
  const stalled = await stalledReader(t, server, handle);
  const reading = await open(t, server, handle);
  await floodProgress(t, server, handle, UPDATES);
  assert.equal((await reading.next((e) => e.event === 'state' && e.data.state === 'completed')).data.state, 'completed');

  const events = await drain(stalled);
  const progress = events.filter((e) => e.event === 'progress');
  assert.ok(progress.length < UPDATES, `${progress.length} progress events written for ${UPDATES} updates`);
  assert.deepEqual(events.at(-1), { event: 'state', data: events.at(-1)!.data });
  assert.equal(events.at(-1)!.data.state, 'completed', 'the final state still arrives');
  const numbers = progress.map((e) => e.data.progress!.numerator);
  assert.deepEqual(
    numbers,
    [...numbers].sort((x, y) => x - y),
    'in order',
  );
});

test('a reader further behind than http.maxEventStreamBytes is dropped; others keep their stream', async (t) => {
  const server = await httpServer(t, { http: { maxEventStreamBytes: 1024 } });
  const handle = await submit(server, 'flood');
  const stalled = await stalledReader(t, server, handle);
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'flood');
  await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
  const flooded = waitEvent(server.engine, 'job:progress', (job) => job.handle === handle && job.numerator === UPDATES);
  for (let i = 1; i <= UPDATES; i++) worker.send('WORK_STATUS', handle, String(i), String(UPDATES));
  await flooded;
  // Opened now, this reader is up to date; the stalled one has kernel buffers full of progress.
  const reading = await open(t, server, handle);
  const finished = waitEvent(server.engine, 'job:finished', (o) => o.handle === handle);
  worker.send('WORK_COMPLETE', handle, 'done');
  await finished;
  assert.equal((await reading.next((e) => e.event === 'state')).data.state, 'completed');
  await reading.waitEnded();

  const events = await drain(stalled);
  assert.ok(events.length < UPDATES);
  assert.equal(
    events.some((e) => e.data.state === 'completed'),
    false,
    'the slow reader was cut off before the end',
  );
});

test('the stream of a foreground job dropped by its clients ends with a gone event', async (t) => {
  const server = await httpServer(t);
  const client = await peerFor(t, server.gearmanPort);
  const created = await client.request('SUBMIT_JOB', ['nobody-serves-this', '', 'x'], 'JOB_CREATED');
  const handle = created.text[0]!;
  const sse = await open(t, server, handle);
  client.close();
  const gone = await sse.next((e) => e.event === 'gone');
  assert.equal(gone.data.handle, handle);
  await sse.waitEnded();
});
