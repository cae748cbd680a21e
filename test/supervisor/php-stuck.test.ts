// A hung PHP worker under a real `lazaret supervise` is dealt with, not only reported: the server tells
// the supervisor (in its answer to the report) which of its copies is stuck in a job past the timeout;
// after killStuckAfter the copy is killed and a fresh one started. The timed-out attempts carry that
// evidence, the job that hangs every worker reaches quarantine as timed_out, and work flows again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { api, health } from '../http/helpers.js';
import { need } from '../interop/procs.js';
import { jobIdOf, submitBg } from '../quarantine/helpers.js';
import { gone, REPO_ROOT, supervise, tempDir } from './helpers.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';
import { eventually } from '../helpers/wait.js';

const PHP_WORKER = join(REPO_ROOT, 'test/quarantine/fixtures/hang-worker.php');

test('a supervised PHP worker stuck past its timeout is killed after killStuckAfter and restarted; the hanging job is quarantined as timed_out', async (t) => {
  await need.php();
  const server = await serverFor(t, {
    httpPort: 0,
    policies: [{ match: 'resize', timeout: 1000, maxCrashes: 3, backoff: { type: 'fixed', base: 20, cap: 20, jitter: false } }],
  });
  const dir = await tempDir(t);
  await writeFile(
    join(dir, 'supervise.json'),
    JSON.stringify({
      id: 'php-stuck',
      server: `http://127.0.0.1:${server.httpPort}`,
      reportInterval: '200ms',
      programs: [
        {
          name: 'resize',
          command: ['php', PHP_WORKER, String(server.gearmanPort), 'resize'],
          copies: 1,
          killStuckAfter: '500ms',
          backoff: { initial: '5ms', max: '50ms' },
        },
      ],
    }),
  );
  const sup = supervise(t, dir, ['--config', 'supervise.json']);
  await sup.event('ready', {}, 15_000);

  const client = await peerFor(t, server.gearmanPort);
  const quarantined = waitEvent(server.engine, 'job:quarantined', (e) => e.unique === 'hang-1', 30_000);
  const handle = await submitBg(client, 'resize', 'hang', 'hang-1');
  // The third copy is killed after its timeout sent the job to quarantine: its evidence goes there.
  const lastEvidence = waitEvent(server.engine, 'late:evidence', (id, n) => id === jobIdOf(handle) && n === 3, 30_000);

  const [entry] = await quarantined;
  assert.equal(entry.reason, 'timed_out');
  assert.deepEqual(
    entry.attempts.map((a) => a.outcome),
    ['timed_out', 'timed_out', 'timed_out'],
  );
  await lastEvidence;

  // Three copies hung on it, and each was killed for it.
  await sup.event('killed_stuck', {}, 15_000, 3);
  const kills = sup.events().filter((e) => e.event === 'killed_stuck');
  assert.ok(kills.every((k) => k.function === 'resize' && k.handle === entry.handle && Number(k.stuckMs) >= 500));
  await eventually(() => (kills.every((k) => gone(Number(k.childPid))) ? true : undefined), 'every stuck copy gone');

  // Every timed-out attempt says how its copy ended, with its pid: the API reads the store.
  const shown = await api<{ attemptList: { worker: string; evidence: { signal?: string; pid?: number; message?: string; stderr?: string } | null }[] }>(
    `http://127.0.0.1:${server.httpPort}`,
    'GET',
    `/api/quarantine/${jobIdOf(handle)}`,
  );
  assert.equal(shown.body.attemptList.length, 3);
  for (const [i, a] of shown.body.attemptList.entries()) {
    assert.equal(a.evidence?.signal, 'SIGKILL');
    assert.equal(a.evidence?.pid, Number(kills[i]!.childPid));
    assert.match(a.evidence?.message ?? '', /killed by lazaret supervise: stuck in resize/);
    assert.match(a.evidence?.stderr ?? '', /hanging on H:/);
    assert.match(a.worker, new RegExp(`pid ${kills[i]!.childPid}$`));
  }

  // A fresh copy takes work again and /health recovers.
  const done = waitEvent(server.engine, 'job:completed', (job) => job.unique === 'after', 15_000);
  await submitBg(client, 'resize', 'fine', 'after');
  await done;
  await eventually(async () => ((await health(server)).status === 200 ? true : undefined), '/health green again');
});
