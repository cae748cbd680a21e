// Perl's Gearman::Client / Gearman::Worker (CPAN Gearman 2.004, pure Perl) against Lazaret.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { need, perlClient, perlWorker, text, type Owner, type ScriptEvent } from './procs.js';
import { recordEvents, waitEvent } from '../helpers/events.js';
import { eventually } from '../helpers/wait.js';

let server: TestServer;
let port: number;

before(async () => {
  server = await startTestServer({ policies: [{ match: '*', backoff: { base: 10, cap: 10, jitter: false } }] });
  port = server.gearmanPort;
});
after(() => server?.dispose());

/** Perl task handles are `host:port//HANDLE` (README, Where Lazaret differs: B2: a handle never contains `//`). */
function serverHandle(perlHandle: string): string {
  const [js, handle, ...rest] = perlHandle.split('//');
  assert.equal(js, `127.0.0.1:${port}`);
  assert.deepEqual(rest, []);
  assert.match(handle!, /^H:test:\d+$/);
  return handle!;
}

/** Runs `perl client.pl status HANDLE` (get_status, i.e. GET_STATUS) and returns what it printed. */
async function getStatus(t: Owner, perlHandle: string): Promise<Omit<ScriptEvent, 'event'>> {
  const { event: _event, ...status } = await perlClient(t, port, 'status', perlHandle).event('status');
  return status;
}

function withoutPid(events: ScriptEvent[]): Omit<ScriptEvent, 'pid'>[] {
  return events.map(({ pid: _pid, ...rest }) => rest);
}

test('Perl: a foreground job forwards WORK_STATUS and WORK_DATA, then the result', async (t) => {
  await need.perl();
  perlWorker(t, port, 'perl_progress=progress');
  const client = perlClient(t, port, 'fg', 'perl_progress', 'input');
  await client.event('done');
  assert.deepEqual(client.events(), [
    { event: 'status', numerator: '1', denominator: '2' },
    { event: 'data', data: 'perl-chunk' },
    { event: 'status', numerator: '2', denominator: '2' },
    { event: 'complete', data: 'perl-done:input' },
    { event: 'done', ok: true },
  ]);
});

test('Perl: get_status (GET_STATUS) of a background job: queued, running with progress, then unknown', async (t) => {
  await need.perl();
  const submit = perlClient(t, port, 'bg', 'perl_status', 'payload-1', 'perl-status-1');
  const perlHandle = text(await submit.event('created'), 'handle');
  const handle = serverHandle(perlHandle);
  assert.deepEqual(await getStatus(t, perlHandle), { known: 1, running: 0, progress: [0, 0] });

  const worker = perlWorker(t, port, 'perl_status=hold');
  const holding = await worker.event('holding');
  assert.equal(holding.handle, handle);
  // No event reports a stored WORK_STATUS: look for it in the engine before asking through Perl.
  await eventually(() => server.engine.job(handle)?.numerator === 1, "the worker's WORK_STATUS 1/2 is stored");
  assert.deepEqual(await getStatus(t, perlHandle), { known: 1, running: 1, progress: [1, 2] });

  const completed = waitEvent(server.engine, 'job:completed', (job) => job.handle === handle);
  worker.send('go');
  await completed;
  assert.deepEqual(await getStatus(t, perlHandle), { known: 0, running: 0, progress: [0, 0] });
});

test('Perl: a function returning undef fails the job; the client gets on_fail', async (t) => {
  await need.perl();
  const worker = perlWorker(t, port, 'perl_fail=fail');
  const client = perlClient(t, port, 'fg', 'perl_fail', 'x');
  await client.event('done');
  assert.deepEqual(client.events(), [
    { event: 'fail', reason: 'jshandle fail' },
    { event: 'done', ok: false },
  ]);
  await worker.event('fail');
});

test('Perl: a dying worker (WORK_EXCEPTION then WORK_FAIL) gets no ERROR and goes on to its next job (B15)', async (t) => {
  await need.perl();
  const ignored = waitEvent(server.engine, 'report:ignored', (_handle, _worker, packet) => packet === 'WORK_FAIL');
  const worker = perlWorker(t, port, 'perl_die=die', 'perl_next=reverse');
  const client = perlClient(t, port, 'fg-exc', 'perl_die', 'input');
  await client.event('done');
  // The client asked for exceptions: it gets the worker's die message.
  assert.deepEqual(client.events(), [
    { event: 'exception', data: 'perl-boom: input\n' },
    { event: 'done', ok: false },
  ]);
  const [handle, workerId] = await ignored;
  assert.equal(workerId, `perl-worker-${worker.pid}`);
  assert.equal(handle, (await worker.event('start', { fn: 'perl_die' })).handle);

  // gearmand answered the second report with ERROR and the Perl worker died reading it; here it lives.
  const next = perlClient(t, port, 'fg', 'perl_next', 'still alive');
  assert.deepEqual(await next.event('complete'), { event: 'complete', data: 'evila llits' });
  await worker.event('complete', {}, 10_000, 1);
  assert.ok(worker.alive, worker.describe());
  assert.deepEqual(
    withoutPid(worker.events()).map((e) => [e.event, e.fn ?? null]),
    [
      ['start', 'perl_die'],
      ['fail', null],
      ['start', 'perl_next'],
      ['complete', null],
    ],
  );
  assert.doesNotMatch(worker.stderr, /unexpected packet type/);
});

test('Perl: a client without exceptions gets on_fail for a dying worker', async (t) => {
  await need.perl();
  perlWorker(t, port, 'perl_die2=die');
  const client = perlClient(t, port, 'fg', 'perl_die2', 'x');
  await client.event('done');
  assert.deepEqual(client.events(), [
    { event: 'fail', reason: 'jshandle fail' },
    { event: 'done', ok: false },
  ]);
});

test('Perl: background jobs queued before any worker come out high, normal, low, FIFO inside each', async (t) => {
  await need.perl();
  const submissions: [string, string][] = [
    ['bg-low', 'L1'],
    ['bg', 'N1'],
    ['bg-high', 'H1'],
    ['bg-low', 'L2'],
    ['bg', 'N2'],
    ['bg-high', 'H2'],
  ];
  for (const [mode, payload] of submissions) await perlClient(t, port, mode, 'perl_prio', payload, `perl-prio-${payload}`).event('created');
  assert.deepEqual(server.engine.functions.get('perl_prio')?.queued, [2, 2, 2]);
  const worker = perlWorker(t, port, 'perl_prio=reverse');
  await worker.event('complete', {}, 10_000, 6);
  assert.deepEqual(
    worker
      .events()
      .filter((e) => e.event === 'start')
      .map((e) => e.payload),
    ['H1', 'H2', 'N1', 'N2', 'L1', 'L2'],
  );
});

test('Perl: background and foreground submissions with one uniq share a handle and the job runs once', async (t) => {
  await need.perl();
  const uniq = 'perl-same-uniq';
  const started = recordEvents(t, server.engine, 'attempt:started', (job) => job.fn.name === 'perl_coalesce');
  const first = text(await perlClient(t, port, 'bg', 'perl_coalesce', 'wl-1', uniq).event('created'), 'handle');
  const second = text(await perlClient(t, port, 'bg', 'perl_coalesce', 'wl-2', uniq).event('created'), 'handle');
  assert.equal(second, first);
  const handle = serverHandle(first);
  const waiters = [perlClient(t, port, 'fg', 'perl_coalesce', 'wl-3', uniq), perlClient(t, port, 'fg', 'perl_coalesce', 'wl-4', uniq)];
  await eventually(() => server.engine.statusUnique(uniq).waiters === 2, 'both foreground clients are attached');
  const worker = perlWorker(t, port, 'perl_coalesce=reverse');
  for (const w of waiters) assert.deepEqual(await w.event('complete'), { event: 'complete', data: '1-lw' });
  assert.deepEqual(
    started.map(([job]) => job.handle),
    [handle],
  );
  assert.equal(worker.events().filter((e) => e.event === 'start').length, 1);
});

test('Perl: a worker killed (SIGKILL) mid-job: the stored background job is retried and another worker completes it', async (t) => {
  await need.perl();
  const crashed = waitEvent(server.engine, 'attempt:ended', (job, a) => job.fn.name === 'perl_crash' && a.outcome === 'crashed');
  const completed = waitEvent(server.engine, 'job:completed', (job) => job.fn.name === 'perl_crash');
  const victim = perlWorker(t, port, 'perl_crash=hold');
  const perlHandle = text(await perlClient(t, port, 'bg', 'perl_crash', 'survivor', 'perl-crash-1').event('created'), 'handle');
  const handle = serverHandle(perlHandle);
  assert.equal(text(await victim.event('holding'), 'handle'), handle);
  const rescuer = perlWorker(t, port, 'perl_crash=reverse');
  victim.kill('SIGKILL');
  assert.equal((await victim.exited).signal, 'SIGKILL');
  const [, attempt] = await crashed;
  assert.equal(attempt.worker, `perl-worker-${victim.pid}`);
  const [job] = await completed;
  assert.equal(job.handle, handle);
  assert.deepEqual(
    job.history.map((a) => [a.outcome, a.worker]),
    [
      ['crashed', `perl-worker-${victim.pid}`],
      ['completed', `perl-worker-${rescuer.pid}`],
    ],
  );
  assert.deepEqual(await rescuer.event('start'), { event: 'start', fn: 'perl_crash', handle, payload: 'survivor', pid: rescuer.pid });
  assert.deepEqual(await getStatus(t, perlHandle), { known: 0, running: 0, progress: [0, 0] });
});
