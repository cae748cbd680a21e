// PHP's GearmanClient / GearmanWorker (pecl-gearman on libgearman) against Lazaret.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { need, phpClient, phpWorker, text, type Owner, type ScriptEvent } from './procs.js';
import { recordEvents, waitEvent } from '../helpers/events.js';
import { eventually } from '../helpers/wait.js';

let server: TestServer;
let port: number;

before(async () => {
  server = await startTestServer({ policies: [{ match: '*', backoff: { base: 10, cap: 10, jitter: false } }] });
  port = server.gearmanPort;
});
after(() => server?.dispose());

/** Runs `php client.php status HANDLE` (jobStatus, i.e. GET_STATUS) and returns what it printed. */
async function jobStatus(t: Owner, handle: string): Promise<Omit<ScriptEvent, 'event'>> {
  const { event: _event, ...status } = await phpClient(t, port, 'status', handle).event('status');
  return status;
}

/** The same through jobStatusByUniqueKey, i.e. GET_STATUS_UNIQUE. */
async function jobStatusByUnique(t: Owner, unique: string): Promise<Omit<ScriptEvent, 'event'>> {
  const { event: _event, ...status } = await phpClient(t, port, 'status-unique', unique).event('status');
  return status;
}

test('PHP: a foreground job forwards WORK_STATUS, WORK_DATA and WORK_WARNING in order, then the result', async (t) => {
  await need.php();
  phpWorker(t, port, 'php_progress=progress');
  const client = phpClient(t, port, 'fg', 'php_progress', 'input-data');
  await client.event('done');
  const events = client.events();
  const handle = text(events[0]!, 'handle');
  assert.match(handle, /^H:test:\d+$/);
  assert.deepEqual(events, [
    { event: 'created', handle },
    { event: 'status', handle, numerator: 1, denominator: 3 },
    { event: 'data', handle, data: 'chunk-1' },
    { event: 'warning', handle, data: 'warn-1' },
    { event: 'status', handle, numerator: 2, denominator: 3 },
    { event: 'data', handle, data: 'chunk-2' },
    { event: 'status', handle, numerator: 3, denominator: 3 },
    { event: 'complete', handle, data: 'all-done:input-data' },
    { event: 'done', ok: true, returnCode: 0 },
  ]);
});

test('PHP: jobStatus and jobStatusByUniqueKey (GET_STATUS, GET_STATUS_UNIQUE) of a background job: queued, running with progress, then unknown', async (t) => {
  await need.php();
  const submit = phpClient(t, port, 'bg', 'php_status', 'payload-1', 'php-status-1');
  const handle = text(await submit.event('created'), 'handle');
  assert.match(handle, /^H:test:\d+$/);
  assert.deepEqual(await jobStatus(t, handle), { known: true, running: false, numerator: 0, denominator: 0 });
  assert.deepEqual(await jobStatusByUnique(t, 'php-status-1'), { known: true, running: false, numerator: 0, denominator: 0 });

  // The worker arrives after the submission, reports 1/2 and holds the job until told to finish.
  const worker = phpWorker(t, port, 'php_status=hold');
  const holding = await worker.event('holding');
  assert.equal(holding.handle, handle);
  assert.equal(holding.payload, 'payload-1');
  // No event reports a stored WORK_STATUS: look for it in the engine before asking through PHP.
  await eventually(() => server.engine.job(handle)?.numerator === 1, "the worker's WORK_STATUS 1/2 is stored");
  assert.deepEqual(await jobStatus(t, handle), { known: true, running: true, numerator: 1, denominator: 2 });
  assert.deepEqual(await jobStatusByUnique(t, 'php-status-1'), { known: true, running: true, numerator: 1, denominator: 2 });

  const completed = waitEvent(server.engine, 'job:completed', (job) => job.handle === handle);
  worker.send('go');
  await completed;
  assert.deepEqual(await jobStatus(t, handle), { known: false, running: false, numerator: 0, denominator: 0 });
  assert.deepEqual(await jobStatusByUnique(t, 'php-status-1'), { known: false, running: false, numerator: 0, denominator: 0 });
});

test('PHP: GearmanJob::sendFail reaches the client as a failure', async (t) => {
  await need.php();
  phpWorker(t, port, 'php_fail=fail');
  const client = phpClient(t, port, 'fg', 'php_fail', 'x');
  await client.event('done');
  const handle = text(client.events()[0]!, 'handle');
  assert.deepEqual(client.events(), [
    { event: 'created', handle },
    { event: 'fail', handle },
    { event: 'done', ok: true, returnCode: 0 },
  ]);
  assert.equal((await server.engine.status(handle)).known, false);
});

test('PHP: GearmanJob::sendException reaches a client with exceptions on as WORK_EXCEPTION with its text', async (t) => {
  await need.php();
  phpWorker(t, port, 'php_exc=exception');
  const client = phpClient(t, port, 'fg', 'php_exc', 'input-A');
  await client.event('done');
  const handle = text(client.events()[0]!, 'handle');
  assert.deepEqual(client.events(), [
    { event: 'created', handle },
    { event: 'exception', handle, data: 'boom: input-A' },
    { event: 'done', ok: true, returnCode: 0 },
  ]);
});

test('PHP: tasks pipelined on one connection (background, foreground, high background) each get their own JOB_CREATED', async (t) => {
  await need.php();
  const worker = phpWorker(t, port, 'php_batch=reverse');
  const client = phpClient(t, port, 'batch', 'php_batch', '3');
  await client.event('done');
  const created = client.events().filter((e) => e.event === 'created');
  // libgearman sends its task list newest first (B10); background replies wait for their commit, and
  // every JOB_CREATED must still answer the submission it belongs to.
  assert.deepEqual(
    created.map((e) => e.workload),
    ['hb2', 'fg2', 'bg2', 'hb1', 'fg1', 'bg1', 'hb0', 'fg0', 'bg0'],
  );
  assert.equal(new Set(created.map((e) => e.handle)).size, 9);
  const completes = client.events().filter((e) => e.event === 'complete');
  assert.deepEqual(completes.map((e) => [e.workload, e.data]).sort(), [
    ['fg0', '0gf'],
    ['fg1', '1gf'],
    ['fg2', '2gf'],
  ]);
  for (const c of completes) assert.equal(c.handle, created.find((e) => e.workload === c.workload)?.handle);
  // The worker saw each handle with the workload its client was told about.
  await worker.event('start', {}, 10_000, 9);
  const byHandle = new Map(created.map((e) => [e.handle, e.workload]));
  for (const s of worker.events().filter((e) => e.event === 'start')) assert.equal(byHandle.get(s.handle), s.payload, JSON.stringify(s));
});

test('PHP: background jobs queued before any worker come out high, normal, low, FIFO inside each', async (t) => {
  await need.php();
  const submissions: [string, string][] = [
    ['bg-low', 'L1'],
    ['bg', 'N1'],
    ['bg-high', 'H1'],
    ['bg-low', 'L2'],
    ['bg', 'N2'],
    ['bg-high', 'H2'],
  ];
  for (const [mode, payload] of submissions) await phpClient(t, port, mode, 'php_prio', payload).event('created');
  const fn = server.engine.functions.get('php_prio');
  assert.deepEqual(fn?.queued, [2, 2, 2]);
  const worker = phpWorker(t, port, 'php_prio=reverse');
  await worker.event('start', {}, 10_000, 6);
  assert.deepEqual(
    worker
      .events()
      .filter((e) => e.event === 'start')
      .map((e) => e.payload),
    ['H1', 'H2', 'N1', 'N2', 'L1', 'L2'],
  );
});

test('PHP: clients with the same unique share one handle, the job runs once and every waiting client gets the result', async (t) => {
  await need.php();
  const unique = 'php-same-key';
  const created = recordEvents(t, server.engine, 'job:created', (job) => job.fn.name === 'php_coalesce');
  const a = phpClient(t, port, 'fg', 'php_coalesce', 'wl-A', unique);
  const handle = text(await a.event('created'), 'handle');
  const b = phpClient(t, port, 'fg', 'php_coalesce', 'wl-A', unique);
  // A later submission's workload is ignored, as gearmand ignores it.
  const d = phpClient(t, port, 'fg', 'php_coalesce', 'wl-D', unique);
  const bg = phpClient(t, port, 'bg', 'php_coalesce', 'wl-A', unique);
  for (const c of [b, d, bg]) assert.equal(text(await c.event('created'), 'handle'), handle);
  assert.equal(server.engine.statusUnique(unique).waiters, 3);

  const worker = phpWorker(t, port, 'php_coalesce=reverse');
  for (const c of [a, b, d]) assert.deepEqual(await c.event('complete'), { event: 'complete', handle, data: 'A-lw' });
  const starts = worker.events().filter((e) => e.event === 'start');
  assert.equal(starts.length, 1);
  assert.equal(starts[0]!.payload, 'wl-A');
  assert.equal(created.length, 1);
});

test('PHP: a worker killed (SIGKILL) mid-job: the job is retried and another worker completes it for the waiting client', async (t) => {
  await need.php();
  const crashed = waitEvent(server.engine, 'attempt:ended', (job, a) => job.fn.name === 'php_crash' && a.outcome === 'crashed');
  const completed = waitEvent(server.engine, 'job:completed', (job) => job.fn.name === 'php_crash');
  const victim = phpWorker(t, port, 'php_crash=hold');
  const client = phpClient(t, port, 'fg', 'php_crash', 'survivor');
  const holding = await victim.event('holding');
  const handle = text(holding, 'handle');
  const rescuer = phpWorker(t, port, 'php_crash=reverse');
  victim.kill('SIGKILL');
  assert.equal((await victim.exited).signal, 'SIGKILL');
  await crashed;

  assert.deepEqual(await client.event('complete'), { event: 'complete', handle, data: 'rovivrus' });
  const [job] = await completed;
  assert.equal(job.handle, handle);
  assert.equal(job.attempts, 2);
  assert.deepEqual(
    job.history.map((a) => a.outcome),
    ['crashed', 'completed'],
  );
  assert.deepEqual(
    rescuer
      .events()
      .filter((e) => e.event === 'start')
      .map((e) => e.handle),
    [handle],
  );
  // The client saw the first worker's progress, then the second worker's result; nothing about the crash.
  await client.event('done');
  assert.deepEqual(
    client.events().map((e) => e.event),
    ['created', 'status', 'complete', 'done'],
  );
});
