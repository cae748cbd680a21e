// Crash evidence for workers in any language: a PHP worker (no client id), a Perl Gearman::Worker and the
// standard-library Python worker of docs/workers.md, each under a real `lazaret supervise`, segfault on a
// payload. The supervisor reports the death (pid, signal, stderr tail); the server puts it on the attempt
// that process's connection held, so `lazaret dlq show --json`, the API and the hand-off JSON say SIGSEGV
// and the pid.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rawWorker } from '../helpers/gearman-client.js';
import { documented } from '../interop/documented.js';
import { need, SCRIPTS } from '../interop/procs.js';
import { jobIdOf, submitBg } from '../quarantine/helpers.js';
import { lazaret, REPO_ROOT, supervise, tempDir } from './helpers.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';

const FIXTURES = join(REPO_ROOT, 'test/quarantine/fixtures');
/** No core file: a test must not fill the disk with them. */
const NO_CORE = (cmd: string): string[] => ['sh', '-c', `ulimit -c 0; exec ${cmd} "$0" "$@"`];

interface ShownAttempt {
  n: number;
  worker: string;
  outcome: string;
  error: string;
  evidence: { pid?: number; signal?: string; stderr?: string } | null;
}

interface Language {
  name: string;
  need: () => Promise<void>;
  /** The supervised program that serves `resize` and dies of SIGSEGV on the payload "segv". */
  program: (port: number, dir: string) => Promise<{ command: string[]; env?: Record<string, string> }>;
  /** The name attempts carry for the copy with this pid. */
  worker: (pid: number) => RegExp;
}

const LANGUAGES: Language[] = [
  {
    name: 'PHP (pecl-gearman)',
    need: need.php,
    program: async (port) => ({ command: [...NO_CORE('php'), join(FIXTURES, 'hang-worker.php'), String(port), 'resize'] }),
    // It sends no client id: named by address and pid.
    worker: (pid) => new RegExp(`^127\\.0\\.0\\.1:\\d+ pid ${pid}$`),
  },
  {
    name: 'Perl (Gearman::Worker)',
    need: need.perl,
    program: async (port) => ({ command: [...NO_CORE('perl'), join(SCRIPTS, 'worker.pl'), String(port), 'resize=segv'] }),
    worker: (pid) => new RegExp(`^perl-worker-${pid}$`),
  },
  {
    name: 'Python (the standard-library worker of docs/workers.md)',
    need: need.python3,
    program: async (port, dir) => {
      await writeFile(join(dir, 'worker.py'), await documented('Python', 'python'));
      return {
        command: [...NO_CORE('python3'), join(FIXTURES, 'segv-worker.py'), `127.0.0.1:${port}`, 'resize'],
        env: { PYTHONPATH: dir },
      };
    },
    worker: (pid) => new RegExp(`^reverse-py-${pid}$`),
  },
];

for (const lang of LANGUAGES) {
  test(`a supervised ${lang.name} worker killed by SIGSEGV: every attempt of the quarantined job says SIGSEGV, with the pid and stderr`, async (t) => {
    await lang.need();
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
        id: 'crash',
        server: url,
        reportInterval: '200ms',
        programs: [{ name: 'resize', ...(await lang.program(server.gearmanPort, dir)), copies: 1, backoff: { initial: '5ms', max: '50ms' } }],
      }),
    );
    // The job waits in the queue until the copy connects.
    const sup = supervise(t, dir, ['--config', 'supervise.json']);

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
    const expected = deaths.map((pid) => ['crashed', 'SIGSEGV', pid]);
    const shown = await lazaret(dir, ['dlq', 'show', String(jobIdOf(handle)), '--json', '--server', url]);
    assert.equal(shown.code, 0, shown.stderr);
    const attempts = (JSON.parse(shown.stdout) as { attemptList: ShownAttempt[] }).attemptList;
    assert.deepEqual(
      attempts.map((a) => [a.outcome, a.evidence?.signal, a.evidence?.pid]),
      expected,
    );
    for (const [i, a] of attempts.entries()) {
      assert.match(a.worker, lang.worker(deaths[i]!));
      assert.match(a.error, /killed by SIGSEGV while running the job/);
      assert.match(a.evidence?.stderr ?? '', /about to crash on /);
    }

    // The API answers the same.
    const res = await fetch(`${url}/api/quarantine/${jobIdOf(handle)}`);
    assert.equal(res.status, 200);
    const api = (await res.json()) as { attemptList: ShownAttempt[] };
    assert.deepEqual(
      api.attemptList.map((a) => [a.outcome, a.evidence?.signal, a.evidence?.pid]),
      expected,
    );

    // The hand-off worker is told the same, without asking the API.
    await handOffDone;
    const described = JSON.parse(handedOff[0]!.toString()) as { attempts: ShownAttempt[] };
    assert.deepEqual(
      described.attempts.map((a) => [a.outcome, a.evidence?.signal, a.evidence?.pid]),
      expected,
    );

    // The human form says it too.
    const text = await lazaret(dir, ['dlq', 'show', String(jobIdOf(handle)), '--server', url]);
    assert.match(text.stdout, /signal SIGSEGV/);
  });
}
