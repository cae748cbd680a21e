// Crash evidence for workers in any language: a PHP worker (no client id) under a real `lazaret supervise`
// segfaults on a payload. The supervisor reports the death (pid, signal, stderr tail); the server puts it
// on the attempt that process's connection held, so `lazaret dlq show --json` and the hand-off JSON say
// SIGSEGV and the pid.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rawWorker } from '../helpers/gearman-client.js';
import { need } from '../interop/procs.js';
import { jobIdOf, submitBg } from '../quarantine/helpers.js';
import { lazaret, REPO_ROOT, supervise, tempDir } from './helpers.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';

const PHP_WORKER = join(REPO_ROOT, 'test/quarantine/fixtures/hang-worker.php');

interface ShownAttempt {
  n: number;
  worker: string;
  outcome: string;
  error: string;
  evidence: { pid?: number; signal?: string; stderr?: string } | null;
}

test('a supervised PHP worker killed by SIGSEGV: every attempt of the quarantined job says SIGSEGV, with the pid and stderr', async (t) => {
  await need.php();
  const server = await serverFor(t, {
    httpPort: 0,
    quarantineFunction: 'dead_letters',
    policies: [{ match: 'resize', maxCrashes: 3, backoff: { type: 'fixed', base: 20, cap: 20, jitter: false } }],
  });
  const url = `http://127.0.0.1:${server.httpPort}`;
  const dir = await tempDir(t);
  await writeFile(
    join(dir, 'supervise.json'),
    JSON.stringify({
      id: 'php-crash',
      server: url,
      reportInterval: '200ms',
      programs: [
        {
          name: 'resize',
          command: ['sh', '-c', 'ulimit -c 0; exec php "$0" "$@"', PHP_WORKER, String(server.gearmanPort), 'resize'],
          copies: 1,
          backoff: { initial: '5ms', max: '50ms' },
        },
      ],
    }),
  );
  const sup = supervise(t, dir, ['--config', 'supervise.json']);
  await sup.event('ready', {}, 15_000);

  const handedOff: Buffer[] = [];
  const handOffDone = waitEvent(server.engine, 'job:completed', (job) => job.fn.name === 'dead_letters', 30_000);
  await rawWorker(server.gearmanPort, 'dead_letters', (payload) => {
    handedOff.push(payload);
    return Buffer.from('noted');
  }).then((w) => t.after(() => w.close()));
  const quarantined = waitEvent(server.engine, 'job:quarantined', (e) => e.unique === 'segv-1', 30_000);
  const client = await peerFor(t, server.gearmanPort);
  const handle = await submitBg(client, 'resize', 'segv', 'segv-1');
  const [entry] = await quarantined;
  assert.equal(entry.reason, 'max_crashes');

  await sup.event('exited', { signal: 'SIGSEGV' }, 15_000, 3);
  const deaths = sup
    .events()
    .filter((e) => e.event === 'exited')
    .map((e) => Number(e.childPid));
  assert.equal(deaths.length, 3);
  const shown = await lazaret(dir, ['dlq', 'show', String(jobIdOf(handle)), '--json', '--server', url]);
  assert.equal(shown.code, 0, shown.stderr);
  const attempts = (JSON.parse(shown.stdout) as { attemptList: ShownAttempt[] }).attemptList;
  assert.deepEqual(
    attempts.map((a) => [a.outcome, a.evidence?.signal, a.evidence?.pid]),
    deaths.map((pid) => ['crashed', 'SIGSEGV', pid]),
  );
  for (const [i, a] of attempts.entries()) {
    assert.match(a.worker, new RegExp(`^127\\.0\\.0\\.1:\\d+ pid ${deaths[i]}$`), 'named by address and pid');
    assert.match(a.error, /killed by SIGSEGV while running the job/);
    assert.match(a.evidence?.stderr ?? '', /about to crash on H:/);
  }

  // The hand-off worker is told the same, without asking the API.
  await handOffDone;
  const described = JSON.parse(handedOff[0]!.toString()) as { attempts: ShownAttempt[] };
  assert.deepEqual(
    described.attempts.map((a) => [a.outcome, a.evidence?.signal, a.evidence?.pid]),
    deaths.map((pid) => ['crashed', 'SIGSEGV', pid]),
  );

  // The human form says it too.
  const text = await lazaret(dir, ['dlq', 'show', String(jobIdOf(handle)), '--server', url]);
  assert.match(text.stdout, /signal SIGSEGV/);
});
