// The worker against real Lazaret nodes: failover between two servers, recycling by job count, graceful
// shutdown that loses no job, and the runner's exit codes on SIGTERM and on recycling.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Client, EXIT_RECYCLE, Worker } from '../../src/client/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';
import { jobsEnded } from './helpers.js';

/** Attempts ended on the server, by outcome, from now on. */
function outcomes(engine: TestServer['engine']): Record<string, number> {
  const counts: Record<string, number> = {};
  engine.on('attempt:ended', (_job, attempt) => void (counts[attempt.outcome ?? 'open'] = (counts[attempt.outcome ?? 'open'] ?? 0) + 1));
  return counts;
}

const RUNNER = fileURLToPath(new URL('./fixtures/runner.ts', import.meta.url));

test('failover: with one of two servers stopped mid-run, submissions and work move to the other', async (t) => {
  const a = await startTestServer({ handlePrefix: 'H:a:' });
  const b = await startTestServer({ handlePrefix: 'H:b:' });
  t.after(() => Promise.all([a.dispose(), b.dispose()]));
  const servers = [`127.0.0.1:${a.gearmanPort}`, `127.0.0.1:${b.gearmanPort}`];
  const worker = new Worker({ servers, concurrency: 2, functions: { echo: (job) => job.payload }, reconnect: { baseMs: 20, capMs: 200 } });
  t.after(() => worker.stop({ graceMs: 0 }));
  await worker.start();
  const client = new Client({ servers });
  t.after(() => client.close());

  const first = jobsEnded(worker, 10);
  const handles = [];
  for (let i = 0; i < 10; i++) handles.push((await client.submitBackground('echo', `one-${i}`)).handle);
  assert.ok(handles.some((h) => h.startsWith('H:a:')) && handles.some((h) => h.startsWith('H:b:')), 'spread over both servers');
  await first;

  const lost = once(worker, 'disconnect');
  await a.stop({ graceMs: 0 });
  assert.match(String((await lost)[0]), new RegExp(`127.0.0.1:${a.gearmanPort}`));
  const second = jobsEnded(worker, 10);
  for (let i = 0; i < 10; i++) assert.match((await client.submitBackground('echo', `two-${i}`)).handle, /^H:b:/);
  const reports = await second;
  assert.ok(reports.every((r) => r.outcome === 'completed' && r.server === servers[1]));
  assert.equal((await client.submit('echo', 'fg')).toString(), 'fg');
});

test('recycling by job count: the worker stops after N jobs and leaves the rest queued', async (t) => {
  const server = await startTestServer();
  t.after(() => server.dispose());
  const servers = [`127.0.0.1:${server.gearmanPort}`];
  const client = new Client({ servers });
  t.after(() => client.close());
  for (let i = 0; i < 8; i++) await client.submitBackground('count', `${i}`);
  const ended = outcomes(server.engine);
  const worker = new Worker({ servers, functions: { count: () => 'ok' }, recycle: { maxJobs: 5 } });
  t.after(() => worker.stop({ graceMs: 0 }));
  let completed = 0;
  const five = waitEvent(server.engine, 'job:completed', () => ++completed === 5);
  await worker.start();
  assert.deepEqual(await worker.stopped, { reason: 'max_jobs', jobs: 5, abandoned: 0 });
  await five;
  const count = (await client.functions()).find((f) => f.function === 'count');
  assert.equal(count?.queued, 3);
  assert.equal(ended.crashed ?? 0, 0);
});

test('graceful stop: running jobs finish, jobs not started stay queued, none is lost', async (t) => {
  const server = await startTestServer();
  t.after(() => server.dispose());
  const servers = [`127.0.0.1:${server.gearmanPort}`];
  const client = new Client({ servers });
  t.after(() => client.close());
  for (let i = 0; i < 6; i++) await client.submitBackground('slow', '300');
  const slow = async (): Promise<string> => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    return 'done';
  };
  const ended = outcomes(server.engine);
  const worker = new Worker({ servers, concurrency: 2, functions: { slow } });
  t.after(() => worker.stop({ graceMs: 0 }));
  let started = 0;
  const twoRunning = waitEvent(server.engine, 'attempt:started', () => ++started === 2);
  await worker.start();
  await twoRunning;
  let completed = 0;
  const twoCompleted = waitEvent(server.engine, 'job:completed', () => ++completed === 2);
  const result = await worker.stop({ graceMs: 5000 });
  assert.equal(result.abandoned, 0);
  assert.equal(result.jobs, 2);
  await twoCompleted;
  assert.equal(ended.crashed ?? 0, 0);

  const next = new Worker({ servers, concurrency: 2, functions: { slow } });
  t.after(() => next.stop({ graceMs: 0 }));
  const rest = jobsEnded(next, 4);
  let more = 0;
  const fourCompleted = waitEvent(server.engine, 'job:completed', () => ++more === 4);
  await next.start();
  assert.ok((await rest).every((r) => r.outcome === 'completed'));
  await fourCompleted;
  assert.equal(ended.completed, 6);
  assert.equal(ended.crashed ?? 0, 0);
});

test('runWorker: SIGTERM lets the running job finish and exits 0; recycling exits with EXIT_RECYCLE', async (t) => {
  const server = await startTestServer();
  t.after(() => server.dispose());
  const address = `127.0.0.1:${server.gearmanPort}`;
  const client = new Client({ servers: [address] });
  t.after(() => client.close());

  const start = (env: Record<string, string> = {}) => {
    const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, address], { env: { ...process.env, ...env }, stdio: 'inherit' });
    t.after(() => void child.kill('SIGKILL'));
    return child;
  };
  const started = waitEvent(server.engine, 'attempt:started', undefined, 20_000);
  const child = start();
  const job = client.submit('slow', '500');
  await started;
  child.kill('SIGTERM');
  assert.equal((await job).toString(), 'slow done');
  assert.deepEqual(await once(child, 'exit'), [0, null]);

  await client.submitBackground('slow', '1');
  const recycled = start({ MAX_JOBS: '1' });
  assert.deepEqual(await once(recycled, 'exit'), [EXIT_RECYCLE, null]);
});

test('a stop right after start does not wait for the grace period', async (t) => {
  const server = await startTestServer();
  t.after(() => server.dispose());
  const worker = new Worker({ servers: [`127.0.0.1:${server.gearmanPort}`], concurrency: 4, functions: { idle: () => 'x' } });
  t.after(() => worker.stop({ graceMs: 0 }));
  await worker.start();
  const started = Date.now();
  assert.deepEqual(await worker.stop({ graceMs: 20_000 }), { reason: 'stopped', jobs: 0, abandoned: 0 });
  assert.ok(Date.now() - started < 5_000, `stop took ${Date.now() - started} ms`);
});
