// How a supervisor's death report meets the worker connection it explains. The worker here is a raw
// socket of this very process, so the server finds this process's pid for it through /proc, and the
// "supervisor" is a plain HTTP client that claims that pid as its copy. Time moves only when told.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { ManualClock } from '../../src/core/clock.js';
import { api, grab, httpServer, submitBg } from './helpers.js';
import type { TestServer } from '../helpers/server.js';
import { peerFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';
import { eventually } from '../helpers/wait.js';

const ME = process.pid;

function report(exits: { at: string; code: number | null; signal: string | null; pid: number; stderr?: string }[]) {
  return {
    host: hostname(),
    pid: 1,
    intervalMs: 1000,
    programs: [{ name: 'resize', command: 'php w.php', copies: 1, running: 1, restarts: exits.length, flapping: false, lastExits: exits, pids: [ME] }],
  };
}

async function holdingWorker(t: Parameters<typeof peerFor>[0], server: TestServer & { url: string }, clientId?: string) {
  const client = await peerFor(t, server.gearmanPort);
  const handle = await submitBg(client, 'resize', 'img', `u-${Math.random()}`);
  const worker = await peerFor(t, server.gearmanPort);
  if (clientId) worker.send('SET_CLIENT_ID', clientId);
  worker.send('CAN_DO', 'resize');
  assert.equal((await grab(worker)).text[0], handle);
  const w = [...server.engine.workers].at(-1)!;
  await eventually(() => w.conn.pid !== null, 'the worker process found');
  assert.equal(w.conn.pid, ME);
  return { worker, handle };
}

const SEGV = { at: '2026-12-06T10:00:01.000Z', code: null, signal: 'SIGSEGV', pid: ME, stderr: 'Segmentation fault in resize.c:88' };

test('disconnect first, then the report: the attempt waits for it and ends crashed with the signal, pid and stderr', async (t) => {
  const clock = new ManualClock();
  // One attempt: the crash quarantines the job, so the API shows the evidence as it stored it.
  const server = await httpServer(t, { policies: [{ match: '*', maxAttempts: 1 }] }, clock);
  assert.equal((await api(server.url, 'PUT', '/api/supervisors/s1', report([]))).status, 200);
  const { worker, handle } = await holdingWorker(t, server);

  const ended = waitEvent(server.engine, 'attempt:ended', (job) => job.handle === handle);
  const quarantined = waitEvent(server.engine, 'job:quarantined', (e) => e.handle === handle);
  worker.socket.destroy();
  await eventually(() => server.engine.workers.size === 0, 'the disconnect seen');
  assert.equal((await server.engine.status(handle)).running, true, 'parked: waiting for the report');
  await api(server.url, 'PUT', '/api/supervisors/s1', report([SEGV]));
  const [, attempt] = await ended;
  assert.equal(attempt.outcome, 'crashed');
  assert.deepEqual(attempt.evidence, { pid: ME, signal: 'SIGSEGV', stderr: SEGV.stderr });
  const [entry] = await quarantined;
  const shown = await api<{ attemptList: { evidence: unknown }[] }>(server.url, 'GET', `/api/quarantine/${entry.id}`);
  assert.deepEqual(shown.body.attemptList[0]!.evidence, attempt.evidence, 'the API keeps the pid');
  assert.match(attempt.error ?? '', new RegExp(`^worker 127\\.0\\.0\\.1:\\d+ pid ${ME} killed by SIGSEGV while running the job$`));
  assert.match(attempt.worker, new RegExp(`pid ${ME}$`));
});

test('the report first, then the disconnect: the evidence waits for the connection to close', async (t) => {
  const clock = new ManualClock();
  const server = await httpServer(t, {}, clock);
  await api(server.url, 'PUT', '/api/supervisors/s1', report([]));
  const { worker, handle } = await holdingWorker(t, server, 'php-7');
  await api(server.url, 'PUT', '/api/supervisors/s1', report([{ ...SEGV, signal: null, code: 255, stderr: 'PHP Fatal error: Allowed memory size exhausted' }]));
  const ended = waitEvent(server.engine, 'attempt:ended', (job) => job.handle === handle);
  worker.socket.destroy();
  const [, attempt] = await ended;
  assert.equal(attempt.outcome, 'crashed');
  assert.deepEqual(attempt.evidence, { pid: ME, exitCode: 255, stderr: 'PHP Fatal error: Allowed memory size exhausted' });
  assert.equal(attempt.error, 'worker php-7 exited with code 255 while running the job');
});

test('no report within 5 s: the attempt ends crashed without evidence; an old exit in a first report is history, not a death', async (t) => {
  const clock = new ManualClock();
  const server = await httpServer(t, {}, clock);
  // The first report of a supervisor lists exits from before: they explain nothing here.
  await api(server.url, 'PUT', '/api/supervisors/s1', report([SEGV]));
  const { worker, handle } = await holdingWorker(t, server);
  const ended = waitEvent(server.engine, 'attempt:ended', (job) => job.handle === handle);
  worker.socket.destroy();
  await eventually(() => server.engine.workers.size === 0, 'the disconnect seen');
  clock.advance(4999);
  assert.equal((await server.engine.status(handle)).running, true);
  clock.advance(1);
  const [, attempt] = await ended;
  assert.equal(attempt.outcome, 'crashed');
  assert.equal(attempt.evidence, null);
  assert.match(attempt.error ?? '', /disconnected while running the job/);
});

test('the answer to a report names the stuck workers of that supervisor, only when it runs on this host', async (t) => {
  const clock = new ManualClock();
  const server = await httpServer(t, { policies: [{ match: 'resize', timeout: 1000 }] }, clock);
  await api(server.url, 'PUT', '/api/supervisors/s1', report([]));
  const { handle } = await holdingWorker(t, server, 'php-hung');
  const stuck = waitEvent(server.engine, 'worker:stuck', () => true);
  clock.advance(1000);
  await stuck;
  clock.advance(2500);
  const here = await api<{ stuck: unknown[] }>(server.url, 'PUT', '/api/supervisors/s1', report([]));
  assert.deepEqual(here.body.stuck, [{ pid: ME, worker: 'php-hung', function: 'resize', handle, stuckMs: 2500 }]);
  const elsewhere = await api<{ stuck: unknown[] }>(server.url, 'PUT', '/api/supervisors/s2', { ...report([]), host: 'another-host' });
  assert.deepEqual(elsewhere.body.stuck, []);
  const notMine = await api<{ stuck: unknown[] }>(server.url, 'PUT', '/api/supervisors/s3', {
    ...report([]),
    programs: [{ ...report([]).programs[0]!, pids: [ME + 100_000] }],
  });
  assert.deepEqual(notMine.body.stuck, []);
});
