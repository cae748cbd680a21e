// The engine alone: a manual clock, a real SQLite file, worker connections as plain objects, no sockets.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, test } from 'node:test';
import type { Engine } from '../../src/core/engine.js';
import type { Worker } from '../../src/core/worker.js';
import { waitEvent } from '../helpers/events.js';
import { fakeWorker, manualEngine, type ManualEngine } from '../helpers/engine.js';
import { freshSqlite, type FreshSqlite } from '../helpers/store.js';

const FIXED = { type: 'fixed' as const, base: 1000, cap: 1000, jitter: false };
let db: FreshSqlite;
let open: ManualEngine[] = [];

beforeEach(async () => {
  db = await freshSqlite();
  open = [];
});
afterEach(async () => {
  for (const m of open) await m.engine.close();
  await db.cleanup();
});

async function start(rules: Parameters<typeof manualEngine>[1] = []): Promise<ManualEngine> {
  const m = await manualEngine(db.path, rules, open[0]?.clock);
  open.push(m);
  return m;
}

async function submit(engine: Engine, fn = 'resize', extra: { deadline?: number } = {}) {
  const { job, ready } = engine.submit({ fn, unique: '', payload: Buffer.from('x'), priority: 1, background: true, ...extra });
  await ready;
  return job;
}

function worker(engine: Engine, fn = 'resize', timeout: number | null = null): Worker {
  const w = engine.addWorker(fakeWorker());
  engine.canDo(w, fn, timeout);
  return w;
}

/** What the gearman layer does: claim, wait for the attempt to be stored, send the job. */
async function grab(engine: Engine, w: Worker) {
  const a = engine.grab(w);
  assert.ok(a, 'a job was handed out');
  assert.equal(await a.ready, true);
  engine.assignmentSent(w, a.job);
  return a.job;
}

test('a failing job is retried after its backoff on the clock, then quarantined when its attempts are spent', async () => {
  const { engine, clock, store } = await start([{ match: 'resize', maxAttempts: 2, backoff: FIXED }]);
  const w = worker(engine);
  const job = await submit(engine);

  await grab(engine, w);
  const retry = waitEvent(engine, 'job:retry');
  engine.workFail(w, job.handle, null);
  const [, runAt] = await retry;
  assert.equal(runAt, clock.now() + 1000);
  // It waits its backoff in the store, scheduled, not in memory.
  assert.equal(engine.job(job.handle), undefined);
  assert.equal(job.fn.scheduled[1], 1);
  assert.equal(engine.grab(w), null, 'nothing to run during the backoff');

  clock.advance(999);
  assert.equal(engine.grab(w), null, 'nothing to run during the backoff');
  const queued = waitEvent(engine, 'job:queued');
  clock.advance(1);
  await queued;
  assert.equal(job.fn.scheduled[1], 0);

  const again = await grab(engine, w);
  assert.equal(again.handle, job.handle);
  assert.equal(again.attempts, 2);
  const quarantined = waitEvent(engine, 'job:quarantined');
  engine.workFail(w, job.handle, Buffer.from('still broken'));
  const [entry] = await quarantined;
  assert.equal(entry.reason, 'max_attempts');
  assert.deepEqual(
    entry.attempts.map((a) => a.outcome),
    ['failed', 'failed'],
  );
  // Announced after its commit: the store already has it.
  assert.equal((await store.quarantineGet(entry.id))?.reason, 'max_attempts');
  assert.equal(engine.job(job.handle), undefined);
});

test('an attempt past its timeout ends as timed_out, the worker is stuck, and the spent crash budget quarantines it', async () => {
  const { engine, clock } = await start([{ match: 'resize', maxCrashes: 1, timeout: 500 }]);
  const w = worker(engine);
  const job = await submit(engine);
  await grab(engine, w);

  const stuck = waitEvent(engine, 'worker:stuck');
  const quarantined = waitEvent(engine, 'job:quarantined');
  clock.advance(500);
  const [stuckWorker, attempt] = await stuck;
  assert.equal(stuckWorker, w);
  assert.equal(attempt.handle, job.handle);
  const [entry] = await quarantined;
  assert.equal(entry.reason, 'timed_out');
  assert.equal(entry.attempts[0]?.outcome, 'timed_out');
  assert.equal(job.crashes, 1);
  // Its late answer is ignored and makes it available again.
  assert.equal(engine.workComplete(w, job.handle, Buffer.from('late')), 'stale');
  assert.equal(w.isStuck, false);
});

test('a job whose deadline passes before it starts is quarantined as expired', async () => {
  const { engine, clock } = await start();
  const job = await submit(engine, 'resize', { deadline: clock.now() + 1000 });
  const quarantined = waitEvent(engine, 'job:quarantined');
  clock.advance(1000);
  const [entry] = await quarantined;
  assert.equal(entry.reason, 'expired');
  assert.equal(entry.handle, job.handle);
  assert.equal(worker(engine) && engine.grab(worker(engine)), null);
});

test('an attempt still open when the server stopped counts once as a crash after the restart', async () => {
  const first = await start([{ match: 'resize', maxCrashes: 2, backoff: FIXED }]);
  const job = await submit(first.engine);
  await grab(first.engine, worker(first.engine));
  // The server stops with the attempt open (close() ends nothing; the store keeps the open attempt).
  await first.engine.close();
  open = [];

  const second = await start([{ match: 'resize', maxCrashes: 2, backoff: FIXED }]);
  // Its crash ended the attempt at the start; it waits its backoff in the store.
  assert.equal(second.engine.job(job.handle), undefined);
  assert.deepEqual(await second.engine.status(job.handle), { known: true, running: false, numerator: 0, denominator: 0, waiters: 0 });
  const queued = waitEvent(second.engine, 'job:queued');
  second.clock.advance(1000);
  const w = worker(second.engine);
  await queued;
  const again = second.engine.job(job.handle);
  assert.ok(again, 'the job is back');
  assert.equal(again.crashes, 1);
  assert.equal(again.attempts, 1);
  assert.deepEqual(
    again.history.map((a) => a.outcome),
    ['crashed'],
  );
  assert.equal(again.state, 'queued');
  await grab(second.engine, w);

  // A second crash spends the budget of 2: the restart's crash was counted exactly once.
  const quarantined = waitEvent(second.engine, 'job:quarantined');
  second.engine.removeWorker(w);
  const [entry] = await quarantined;
  assert.equal(entry.reason, 'max_crashes');
  assert.deepEqual(
    entry.attempts.map((a) => a.outcome),
    ['crashed', 'crashed'],
  );
});

test('attempt:ended and job:completed of a stored job fire after the commit that deletes it', async () => {
  const { engine, store } = await start();
  const w = worker(engine);
  const job = await submit(engine);
  await grab(engine, w);
  // Read at the moment of each event (better-sqlite3 reads synchronously): what the store holds then.
  const stored: Record<string, Promise<number>> = {};
  engine.once('attempt:ended', () => void (stored.ended = store.jobsPage(0, 10).then((rows) => rows.length)));
  engine.once('job:completed', () => void (stored.completed = store.jobsPage(0, 10).then((rows) => rows.length)));
  const completed = waitEvent(engine, 'job:completed');
  engine.workComplete(w, job.handle, Buffer.from('done'));
  await completed;
  assert.equal(await stored.ended, 0, 'attempt:ended fired before the job was deleted from the store');
  assert.equal(await stored.completed, 0);
});

test('the engine emits only through its two helpers, so a stored change cannot be announced before its commit', async () => {
  const source = await readFile(new URL('../../src/core/engine.ts', import.meta.url), 'utf8');
  const direct = source.split('\n').filter((line) => /\bthis\.emit\(/.test(line));
  assert.equal(direct.length, 3, `only #emitCommitted (twice) and #emitLive call this.emit:\n${direct.join('\n')}`);
});

test('a worker that leaves before its job was sent to it is not charged: the job goes back uncounted', async () => {
  const { engine, clock } = await start([{ match: 'resize', maxCrashes: 1, backoff: FIXED }]);
  const start0 = clock.now();
  const job = await submit(engine);
  const w = worker(engine);
  const a = engine.grab(w);
  assert.ok(a);
  assert.equal(await a.ready, true);
  // The worker hangs up before the JOB_ASSIGN went out (Perl's Gearman::Worker does after 0.5 s).
  const ended = waitEvent(engine, 'attempt:ended');
  engine.removeWorker(w);
  const [, attempt] = await ended;
  assert.equal(attempt.outcome, 'returned');
  assert.match(attempt.error ?? '', /before the job was sent to it/);
  assert.equal(job.crashes, 0, 'the crash budget is untouched');
  assert.equal((await engine.status(job.handle)).known, true, 'not quarantined with maxCrashes 1');

  // It was never delivered: it is back at the head of its window at once, no backoff.
  assert.equal(engine.job(job.handle)?.state, 'queued');
  assert.equal(clock.now(), start0);
  // Once sent, a disconnect is a crash, and with maxCrashes 1 the job is quarantined.
  const w2 = worker(engine);
  await grab(engine, w2);
  const quarantined = waitEvent(engine, 'job:quarantined');
  engine.removeWorker(w2);
  const [entry] = await quarantined;
  assert.equal(entry.reason, 'max_crashes');
  assert.deepEqual(
    entry.attempts.map((x) => x.outcome),
    ['returned', 'crashed'],
  );
});
