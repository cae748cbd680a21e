// The hung-worker outage replayed with real PHP workers (php-gearman), shortened: a job timeout alone, a
// callback that never returns, normal jobs flowing meanwhile. The worker that hangs is never given a
// job again, and /health is red naming it (by address and pid: it sends no client id) for as long as it
// hangs. With one worker only, the job still reaches quarantine as its policy says.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Job } from '../../src/core/job.js';
import { checkOf, health, type HealthBody } from '../http/helpers.js';
import { need, start, type Proc } from '../interop/procs.js';
import { REPO_ROOT, submitBg } from './helpers.js';
import { eventually } from '../helpers/wait.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';

const HANG_WORKER = join(REPO_ROOT, 'test/quarantine/fixtures/hang-worker.php');

function phpHangWorker(t: Parameters<typeof start>[0], port: number): Proc {
  return start(t, 'php', [HANG_WORKER, String(port), 'resize']);
}

/** The pid that printed a start line for this payload. */
async function startedBy(workers: Proc[], payload: string): Promise<number> {
  for (;;) {
    for (const w of workers) {
      const e = w.events().find((x) => x.event === 'start' && x.payload === payload);
      if (e) return Number(e.pid);
    }
    await Promise.race(workers.map((w) => w.event('start', { payload }, 15_000).catch(() => undefined)));
  }
}

async function redNaming(server: { httpPort: number | null }, pattern: RegExp): Promise<HealthBody> {
  return eventually(async () => {
    const now = await health(server);
    const hung = now.body.checks.find((c) => c.name === 'hung' && c.function === 'resize');
    return now.status === 503 && hung?.state === 'fail' && pattern.test(hung.reason) ? now.body : undefined;
  }, `/health red naming ${pattern}`);
}

test('three PHP workers, one hangs: after the timeout it never gets another job, jobs flow to the others, /health red naming it', async (t) => {
  await need.php();
  const server = await serverFor(t, { httpPort: 0, policies: [{ match: 'resize', timeout: 1000, maxCrashes: 1 }] });
  const workers = [0, 1, 2].map(() => phpHangWorker(t, server.gearmanPort));
  for (const w of workers) await w.event('ready', {}, 15_000);
  await eventually(() => (server.engine.functions.get('resize')?.workers.size ?? 0) === 3, 'three workers registered');

  const client = await peerFor(t, server.gearmanPort);
  const stuck = waitEvent(server.engine, 'worker:stuck', () => true, 15_000);
  const quarantined = waitEvent(server.engine, 'job:quarantined', (e) => e.unique === 'hang-1', 15_000);
  await submitBg(client, 'resize', 'hang', 'hang-1');
  const hungPid = await startedBy(workers, 'hang');
  const [w] = await stuck;
  assert.equal((await quarantined)[0].reason, 'timed_out');
  await eventually(() => w.conn.pid !== null, 'the hung worker identified by its pid');
  assert.equal(w.conn.pid, hungPid, 'the server found the hung process through /proc');
  assert.match(w.conn.name, new RegExp(`^127\\.0\\.0\\.1:\\d+ pid ${hungPid}$`));

  const body = await redNaming(server, new RegExp(`1 worker stuck .*pid ${hungPid} on H:`));
  assert.equal(body.status, 'fail');

  // Normal jobs keep flowing, never to the hung worker.
  const completed = new Set<string>();
  server.engine.on('job:completed', (job: Job) => void completed.add(job.unique));
  for (let i = 0; i < 12; i++) await submitBg(client, 'resize', `image-${i}`, `img-${i}`);
  await eventually(() => completed.size === 12, 'every normal job to complete', 15_000);
  for (let i = 0; i < 12; i++) assert.notEqual(await startedBy(workers, `image-${i}`), hungPid, `image-${i} went to the hung worker`);

  // It hangs still: still red, still named.
  await redNaming(server, new RegExp(`pid ${hungPid}`));
});

test('one PHP worker that hangs, a job timeout only: the job reaches quarantine as timed_out and /health stays red', async (t) => {
  await need.php();
  const server = await serverFor(t, {
    httpPort: 0,
    policies: [{ match: 'resize', timeout: 1000, maxCrashes: 1 }],
    health: { intervalMs: 10_000, unservedAfterMs: 300, rules: [] },
  });
  const worker = phpHangWorker(t, server.gearmanPort);
  await worker.event('ready', {}, 15_000);
  const client = await peerFor(t, server.gearmanPort);
  const quarantined = waitEvent(server.engine, 'job:quarantined', (e) => e.unique === 'hang-1', 15_000);
  await submitBg(client, 'resize', 'hang', 'hang-1');
  const [entry] = await quarantined;
  assert.equal(entry.reason, 'timed_out');
  assert.deepEqual(
    entry.attempts.map((a) => a.outcome),
    ['timed_out'],
  );

  // The next job waits for a worker that can take it; the only one is stuck, so the function is unserved.
  await submitBg(client, 'resize', 'image', 'img-1');
  const body = await eventually(async () => {
    const now = await health(server);
    const unserved = now.body.checks.find((c) => c.name === 'unserved' && c.function === 'resize');
    return unserved?.state === 'fail' ? now.body : undefined;
  }, 'the function unserved');
  assert.match(checkOf(body, 'unserved', 'resize').reason, /no worker available \(1 stuck worker\)/);
  assert.equal(checkOf(body, 'hung', 'resize').state, 'fail');
  assert.equal(worker.events().filter((e) => e.event === 'start').length, 1, 'the stuck worker was given nothing more');
});
