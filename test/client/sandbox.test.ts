// Sandbox mode: a job that kills its child process is one failed attempt with evidence, never a dead
// worker. The poison payload segfaults while healthy jobs flow; the policy quarantines it with SIGSEGV.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Client, ClientErrorCode, JobError, Worker } from '../../src/client/index.js';
import { startTestServer } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';
import { jobsEnded } from './helpers.js';

const HANDLERS = fileURLToPath(new URL('./fixtures/handlers.ts', import.meta.url));
const FAST_BACKOFF = { type: 'fixed' as const, base: 10, cap: 10, jitter: false };

test('a segfaulting job is quarantined (max_crashes) with SIGSEGV as evidence while healthy jobs complete', async (t) => {
  const server = await startTestServer({ policies: [{ match: 'resize', maxAttempts: 5, maxCrashes: 2, backoff: FAST_BACKOFF }] });
  t.after(() => server.dispose());
  const servers = [`127.0.0.1:${server.gearmanPort}`];
  const worker = new Worker({ servers, sandbox: { module: HANDLERS, poolSize: 2 } });
  t.after(() => worker.stop({ graceMs: 0 }));
  await worker.start();
  assert.deepEqual([...worker.functions].sort(), ['resize', 'slow']);

  const client = new Client({ servers });
  t.after(() => client.close());
  const quarantined = waitEvent(server.engine, 'job:quarantined', (e) => e.function === 'resize', 30_000);
  const healthy = 30;
  const ended = jobsEnded(worker, healthy + 2, 30_000);
  for (let i = 0; i < healthy; i++) {
    await client.submitBackground('resize', `img-${i}`);
    if (i === 10) await client.submitBackground('resize', 'poison');
  }
  const [entry] = await quarantined;
  const reports = await ended;
  assert.equal(reports.filter((r) => r.outcome === 'completed').length, healthy);
  const crashes = reports.filter((r) => r.outcome === 'failed');
  assert.equal(crashes.length, 2);
  assert.equal(crashes[0]!.error?.signal, 'SIGSEGV');

  const full = await server.engine.quarantine.get(entry.id);
  assert.equal(full.payload.toString(), 'poison');
  // A child killed by a signal spends the crash budget, not the larger attempt budget.
  assert.equal(full.reason, 'max_crashes');
  assert.equal(full.attempts.length, 2);
  for (const a of full.attempts) {
    assert.equal(a.outcome, 'crashed');
    assert.equal(a.evidence?.signal, 'SIGSEGV');
    assert.match(a.error ?? '', /sandbox child \(pid \d+\) running the job died: killed by SIGSEGV/);
  }
  // The worker is up, its children were replaced, and it still works.
  assert.equal(worker.stopping, false);
  assert.equal((await client.submit('resize', 'after')).toString(), 'ok:after');
});

test('process.exit and stray uncaught exceptions in a child are failed attempts with exit codes and stderr', async (t) => {
  const server = await startTestServer();
  t.after(() => server.dispose());
  const servers = [`127.0.0.1:${server.gearmanPort}`];
  const worker = new Worker({ servers, sandbox: { module: HANDLERS, poolSize: 1 } });
  t.after(() => worker.stop({ graceMs: 0 }));
  await worker.start();
  const client = new Client({ servers });
  t.after(() => client.close());

  const exited = await client.submit('resize', 'exit').then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(exited instanceof JobError);
  assert.equal(exited.code, ClientErrorCode.JOB_EXCEPTION);
  assert.equal(exited.evidence?.exitCode, 3);
  assert.equal(exited.evidence?.errorClass, 'SandboxChildDied');

  const threw = await client.submit('resize', 'throw-later').then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(threw instanceof JobError);
  assert.equal(threw.evidence?.exitCode, 1);
  assert.match(String(threw.evidence?.stderr), /stray async error/);
  assert.equal((await client.submit('resize', 'fine')).toString(), 'ok:fine');
});

test('children are recycled after maxJobsPerChild', async (t) => {
  const server = await startTestServer();
  t.after(() => server.dispose());
  const servers = [`127.0.0.1:${server.gearmanPort}`];
  const worker = new Worker({ servers, sandbox: { module: HANDLERS, poolSize: 1, maxJobsPerChild: 2 } });
  t.after(() => worker.stop({ graceMs: 0 }));
  await worker.start();
  const client = new Client({ servers });
  t.after(() => client.close());
  const pids: string[] = [];
  for (let i = 0; i < 4; i++) pids.push((await client.submit('resize', 'pid')).toString());
  assert.equal(pids[0], pids[1]);
  assert.equal(pids[2], pids[3]);
  assert.notEqual(pids[1], pids[2]);
});
