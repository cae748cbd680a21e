// The long-running worker loops of docs/workers.md, run as written against a real server: in PHP, Perl
// and Python a job that fails is reported (with its evidence) and the same process then completes the
// next job. And the two PHP facts the page explains: the usual `while ($worker->work())` loop stops
// after a failed job, and `exit()` inside a callback is recorded as a failure, not a crash.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { RawPeer } from '../helpers/gearman-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { submitBg } from '../quarantine/helpers.js';
import { documented } from './documented.js';
import { need, start } from './procs.js';
import { waitEvent } from '../helpers/events.js';

let server: TestServer;
let client: RawPeer;
let dir: string;

before(async () => {
  // One attempt: a failed job goes straight to quarantine instead of being offered again.
  server = await startTestServer({ policies: [{ match: '*', maxAttempts: 1 }] });
  client = await RawPeer.connect(server.gearmanPort);
  dir = await mkdtemp(join(tmpdir(), 'lazaret-loops-'));
});
after(async () => {
  client?.close();
  await server?.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function script(name: string, code: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, code);
  return file;
}

async function failThenSucceed(t: TestContext, cmd: string, file: string, errorClass: string | null): Promise<void> {
  const worker = start(t, cmd, [file, `127.0.0.1:${server.gearmanPort}`]);
  // A worker that hangs up before its JOB_ASSIGN arrives (Perl's does after 0.5 s) gives the job back
  // uncharged (`returned`) and takes it again: the attempt that counts is the one that ran.
  const failed = waitEvent(server.engine, 'attempt:ended', (job, a) => job.unique === `${cmd}-bad` && a.outcome !== 'returned', 20_000);
  const bad = await submitBg(client, 'reverse', 'bad-input', `${cmd}-bad`);
  const [, attempt] = await failed;
  assert.equal(attempt.outcome, 'failed', `${attempt.error}\n${worker.stderr}`);
  assert.match(attempt.error ?? '', /cannot reverse bad-input/);
  if (errorClass !== null) assert.equal(attempt.evidence?.errorClass, errorClass);
  assert.equal((await server.engine.quarantine.get(Number(bad.split(':').pop()))).reason, 'max_attempts');

  const completed = waitEvent(server.engine, 'job:finished', (o) => o.unique === `${cmd}-good`, 20_000);
  await submitBg(client, 'reverse', 'hello', `${cmd}-good`);
  const [outcome] = await completed;
  assert.equal(outcome.state, 'completed');
  assert.equal(outcome.result?.toString(), 'olleh');
  assert.ok(worker.alive, `the ${cmd} worker is still running after the failed job: ${worker.stderr}`);
  worker.kill();
  await worker.exited;
}

test('PHP: the documented loop reports a failing job and goes on to the next', async (t) => {
  await need.php();
  await failThenSucceed(t, 'php', await script('worker.php', await documented('PHP', 'php')), 'InvalidArgumentException');
});

test('Perl: the documented loop reports a dying job and goes on to the next', async (t) => {
  await need.perl();
  await failThenSucceed(t, 'perl', await script('worker.pl', await documented('Perl', 'perl')), null);
});

test('Python: the documented standard-library worker reports a raising job and goes on to the next', async (t) => {
  await need.python3();
  await failThenSucceed(t, 'python3', await script('worker.py', await documented('Python', 'python')), 'ValueError');
});

test('PHP: `while ($worker->work())` stops after a job whose return code is a failure', async (t) => {
  await need.php();
  const file = await script(
    'naive.php',
    `<?php
$worker = new GearmanWorker();
$worker->addServer('127.0.0.1', ${server.gearmanPort});
$worker->addFunction('naive', function (GearmanJob $job) { $job->setReturn(GEARMAN_WORK_FAIL); return null; });
while ($worker->work()) {}
echo 'stopped: ', $worker->returnCode(), "\\n";
`,
  );
  const worker = start(t, 'php', [file]);
  const failed = waitEvent(server.engine, 'attempt:ended', (job) => job.fn.name === 'naive');
  await submitBg(client, 'naive', 'x', 'naive-1');
  assert.equal((await failed)[1].outcome, 'failed');
  assert.deepEqual(await worker.done(), { code: 0, signal: null });
  assert.equal(worker.stdout, 'stopped: 24\n', 'GEARMAN_WORK_FAIL ended the loop');
});

test('PHP: exit() inside a callback ends the attempt as failed (WORK_FAIL), not crashed', async (t) => {
  await need.php();
  const file = await script(
    'exits.php',
    `<?php
$worker = new GearmanWorker();
$worker->addServer('127.0.0.1', ${server.gearmanPort});
$worker->addFunction('exits', function (GearmanJob $job) { exit(3); });
while ($worker->work()) {}
`,
  );
  const worker = start(t, 'php', [file]);
  const ended = waitEvent(server.engine, 'attempt:ended', (job) => job.fn.name === 'exits');
  await submitBg(client, 'exits', 'x', 'exits-1');
  const [, attempt] = await ended;
  assert.equal(attempt.outcome, 'failed');
  assert.deepEqual(await worker.done(), { code: 3, signal: null });
});
