// The `gearman` command-line tool (gearman-tools, libgearman) as client and worker against Lazaret.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { gearman, need, phpWorker } from './procs.js';
import { recordEvents, waitEvent } from '../helpers/events.js';
import { eventually } from '../helpers/wait.js';

let server: TestServer;
let port: number;

before(async () => {
  server = await startTestServer({ policies: [{ match: '*', backoff: { base: 10, cap: 10, jitter: false } }] });
  port = server.gearmanPort;
});
after(() => server?.dispose());

test('gearman: a foreground job runs on a `gearman -w` worker and the client prints the result', async (t) => {
  await need.gearmanTools();
  gearman(t, port, '-w', '-f', 'cli_upper', '--', 'tr', 'a-z', 'A-Z');
  const client = gearman(t, port, '-f', 'cli_upper', 'hello lazaret');
  assert.deepEqual(await client.done(), { code: 0, signal: null }, client.describe());
  assert.equal(client.stdout, 'HELLO LAZARET');
});

test('gearman: a client that submits before any worker exists gets its result once a worker arrives', async (t) => {
  await need.gearmanTools();
  const created = waitEvent(server.engine, 'job:created', (job) => job.fn.name === 'cli_late');
  const client = gearman(t, port, '-f', 'cli_late', 'late');
  const [job] = await created;
  assert.equal(job.state, 'queued');
  assert.equal(server.engine.functions.get('cli_late')?.workers.size, 0);
  const worker = gearman(t, port, '-w', '-f', 'cli_late', '-c', '1', '--', 'tr', 'a-z', 'A-Z');
  assert.deepEqual(await client.done(), { code: 0, signal: null }, client.describe());
  assert.equal(client.stdout, 'LATE');
  assert.deepEqual(await worker.done(), { code: 0, signal: null }, worker.describe());
});

test('gearman -b: a background job is stored, queued, and run by a worker that comes later', async (t) => {
  await need.gearmanTools();
  const client = gearman(t, port, '-b', '-f', 'cli_bg', '-u', 'cli-bg-1', 'background-data');
  assert.deepEqual(await client.done(), { code: 0, signal: null }, client.describe());
  // JOB_CREATED (and so the tool's exit) comes only after the job is stored and queued: in a window, or
  // only in the store (on a shared store, a function without workers here keeps no window).
  assert.deepEqual(server.engine.functions.get('cli_bg')?.queued, [0, 1, 0]);
  const job = [...server.engine.jobs()].find((j) => j.fn.name === 'cli_bg');
  if (job !== undefined) {
    assert.equal(job.durable, true);
    assert.equal(job.state, 'queued');
    assert.equal(job.unique, 'cli-bg-1');
  }
  const completed = waitEvent(server.engine, 'job:completed', (j) => j.fn.name === 'cli_bg');
  const worker = gearman(t, port, '-w', '-f', 'cli_bg', '-c', '1', '--', 'tr', 'a-z', 'A-Z');
  const [done] = await completed;
  assert.equal(done.unique, 'cli-bg-1');
  if (job !== undefined) assert.equal(done.handle, job.handle);
  assert.deepEqual(await worker.done(), { code: 0, signal: null }, worker.describe());
});

test('gearman -I/-L: background jobs queued before any worker come out high, normal, low, FIFO inside each', async (t) => {
  await need.gearmanTools();
  const order: [string, string][] = [
    ['-L', 'L1'],
    ['', 'N1'],
    ['-I', 'H1'],
    ['-L', 'L2'],
    ['', 'N2'],
    ['-I', 'H2'],
  ];
  for (const [flag, payload] of order) {
    const client = gearman(t, port, '-b', ...(flag === '' ? [] : [flag]), '-f', 'cli_prio', payload);
    assert.deepEqual(await client.done(), { code: 0, signal: null }, client.describe());
  }
  const started = recordEvents(t, server.engine, 'attempt:started', (job) => job.fn.name === 'cli_prio');
  const worker = gearman(t, port, '-w', '-f', 'cli_prio', '-c', '6');
  assert.deepEqual(await worker.done(), { code: 0, signal: null }, worker.describe());
  assert.deepEqual(
    started.map(([job]) => job.payload.toString()),
    ['H1', 'H2', 'N1', 'N2', 'L1', 'L2'],
  );
});

test('gearman: WORK_DATA and WORK_STATUS from a PHP worker reach the tool along with the result', async (t) => {
  await Promise.all([need.gearmanTools(), need.php()]);
  phpWorker(t, port, 'cli_progress=progress');
  const client = gearman(t, port, '-f', 'cli_progress', 'payload');
  assert.deepEqual(await client.done(), { code: 0, signal: null }, client.describe());
  // The tool writes data and result with printf and the percentages with iostream: the two buffers
  // interleave, so only presence is checked here (order is checked with the PHP client).
  for (const part of ['chunk-1', 'chunk-2', 'all-done:payload', '33% Complete', '66% Complete', '100% Complete']) {
    assert.ok(client.stdout.includes(part), `stdout has ${part}: ${JSON.stringify(client.stdout)}`);
  }
});

test('gearman: a WORK_FAIL ends the tool with "Job failed"', async (t) => {
  await Promise.all([need.gearmanTools(), need.php()]);
  phpWorker(t, port, 'cli_fail=fail');
  const client = gearman(t, port, '-f', 'cli_fail', 'x');
  const exit = await client.done(5000);
  assert.equal(exit.code, 1, client.describe());
  assert.match(client.stderr, /Job failed/);
  assert.equal(client.stdout, '');
});

test('gearman: a worker exception does not hang the tool, which has no exceptions option (B8: bare-handle WORK_FAIL)', async (t) => {
  await Promise.all([need.gearmanTools(), need.php()]);
  const ended = waitEvent(server.engine, 'attempt:ended', (job) => job.fn.name === 'cli_exc');
  phpWorker(t, port, 'cli_exc=exception');
  const client = gearman(t, port, '-f', 'cli_exc', 'input');
  // gearmand's WORK_FAIL carried a stray NUL, libgearman ignored it and the tool waited forever.
  const exit = await client.done(5000);
  assert.equal(exit.code, 1, client.describe());
  assert.match(client.stderr, /Job failed/);
  assert.doesNotMatch(client.stdout, /boom/);
  const [job, attempt] = await ended;
  assert.equal(attempt.outcome, 'failed');
  assert.equal(attempt.error, 'boom: input');
  assert.equal((await server.engine.status(job.handle)).known, false);
});

test('gearman -u: clients with the same unique share one job, run once, and all print its result', async (t) => {
  await need.gearmanTools();
  const unique = 'cli-shared-key';
  const started = recordEvents(t, server.engine, 'attempt:started', (job) => job.fn.name === 'cli_coalesce');
  const clients = [gearman(t, port, '-u', unique, '-f', 'cli_coalesce', 'first')];
  // The first submission creates the job; wait for it so the others coalesce into it, not race it.
  await eventually(() => server.engine.statusUnique(unique).waiters === 1, 'the first client is attached');
  clients.push(gearman(t, port, '-u', unique, '-f', 'cli_coalesce', 'second'), gearman(t, port, '-u', unique, '-f', 'cli_coalesce', 'third'));
  await eventually(() => server.engine.statusUnique(unique).waiters === 3, 'all three clients are attached to one job');
  assert.equal([...server.engine.jobs()].filter((j) => j.fn.name === 'cli_coalesce').length, 1);
  const worker = gearman(t, port, '-w', '-f', 'cli_coalesce', '-c', '1', '--', 'tr', 'a-z', 'A-Z');
  for (const client of clients) {
    assert.deepEqual(await client.done(), { code: 0, signal: null }, client.describe());
    // The later submissions' workloads are ignored: everyone gets the first one's result.
    assert.equal(client.stdout, 'FIRST');
  }
  assert.deepEqual(await worker.done(), { code: 0, signal: null }, worker.describe());
  assert.equal(started.length, 1);
});
