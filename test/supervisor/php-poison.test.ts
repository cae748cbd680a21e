// The outage this project is about, with `lazaret supervise` in the role that gave up last time: a PHP
// worker dies of SIGSEGV on one payload. The supervisor starts a new copy every time (never giving up),
// Lazaret quarantines the poison job after maxCrashes, the healthy jobs all complete, and the server
// hears of the flapping program with its exit signals.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Job } from '../../src/core/job.js';
import { need, workersOf } from '../interop/procs.js';
import { submitBg } from '../quarantine/helpers.js';
import { childPids, gone, reported, REPO_ROOT, supervise, tempDir } from './helpers.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';
import { eventually } from '../helpers/wait.js';

const PHP_WORKER = join(REPO_ROOT, 'test/quarantine/fixtures/poison-worker.php');

test('a supervised PHP worker that segfaults on a poison payload is restarted every time; the poison is quarantined, the healthy jobs complete', async (t) => {
  await need.php();
  const server = await serverFor(t, {
    httpPort: 0,
    policies: [{ match: 'resize', maxCrashes: 3, backoff: { type: 'fixed', base: 20, cap: 20, jitter: false } }],
  });
  const dir = await tempDir(t);
  await writeFile(
    join(dir, 'supervise.json'),
    JSON.stringify({
      id: 'php-poison',
      server: `http://127.0.0.1:${server.httpPort}`,
      reportInterval: '200ms',
      programs: [
        {
          name: 'resize',
          // `ulimit -c 0`: no core files from the segfaults; exec keeps the pid the supervisor watches.
          command: ['sh', '-c', 'ulimit -c 0; exec php "$0" "$@"', PHP_WORKER, String(server.gearmanPort), 'resize'],
          copies: 2,
          backoff: { initial: '5ms', max: '50ms' },
        },
      ],
    }),
  );

  const completed = new Set<string>();
  server.engine.on('job:completed', (job: Job) => void completed.add(job.handle));
  const quarantined = waitEvent(server.engine, 'job:quarantined', () => true, 30_000);
  const sup = supervise(t, dir, ['--config', 'supervise.json']);
  await sup.event('ready', {}, 15_000, 2);

  const client = await peerFor(t, server.gearmanPort);
  const poison = await submitBg(client, 'resize', 'poison', 'poison-1');
  const healthy: string[] = [];
  for (let i = 0; i < 20; i++) healthy.push(await submitBg(client, 'resize', `image-${i}`, `healthy-${i}`));

  const [entry] = await quarantined;
  assert.equal(entry.handle, poison);
  assert.equal(entry.reason, 'max_crashes');
  assert.deepEqual(
    entry.attempts.map((a) => a.outcome),
    ['crashed', 'crashed', 'crashed'],
  );

  await eventually(() => (healthy.every((h) => completed.has(h)) ? true : undefined), 'every healthy job to complete');
  assert.equal(completed.has(poison), false);

  // Every death was a segfault on the poison payload, and each one was followed by a new copy.
  await sup.event('exited', { signal: 'SIGSEGV' }, 15_000, 3);
  const deaths = sup.events().filter((e) => e.event === 'exited');
  assert.equal(deaths.length, 3, 'only the poison job killed workers');
  assert.ok(deaths.every((e) => e.signal === 'SIGSEGV' && e.program === 'resize'));
  await sup.event('spawned', {}, 15_000, 5);
  assert.ok(deaths.every((d) => gone(Number(d.childPid))));
  assert.deepEqual(
    entry.attempts.map((a) => a.worker).sort(),
    deaths.map((d) => `php-poison-${d.childPid}`).sort(),
    'each attempt names the worker process that died',
  );

  const [p] = await eventually(async () => {
    const programs = (await reported(server))[0]?.programs;
    return programs?.[0]?.running === 2 && programs[0].restarts === 3 ? programs : undefined;
  }, 'the server to hear of 3 restarts and 2 running copies');
  assert.equal(p!.flapping, true, 'three deaths within a minute: flapping');
  assert.deepEqual(
    p!.lastExits.map((e) => e.signal),
    ['SIGSEGV', 'SIGSEGV', 'SIGSEGV'],
  );
  assert.deepEqual(
    server.supervisors.flapping().map((f) => f.program.name),
    ['resize'],
  );
  const flap = sup.events().find((e) => e.event === 'flapping');
  assert.equal(flap?.signal, 'SIGSEGV');

  // The replacements take work as usual.
  await eventually(() => (workersOf(server.engine, 'resize') === 2 ? true : undefined), 'two workers registered again');
  const after = waitEvent(server.engine, 'job:completed', (job) => job.unique === 'after-poison', 15_000);
  await submitBg(client, 'resize', 'still-working', 'after-poison');
  await after;
  assert.equal(childPids(sup).length, 5, 'no copy died after the poison was quarantined');
});
