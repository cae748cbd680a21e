// The store as the queue of record: backlogs many times the window, on a manual clock and a real SQLite
// file. Memory holds a window of WINDOW jobs per function and priority; everything else is in the store.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import type { Engine } from '../../src/core/engine.js';
import type { Job } from '../../src/core/job.js';
import type { Worker } from '../../src/core/worker.js';
import type { Priority } from '../../src/domain.js';
import { fakeWorker, manualEngine, type ManualEngine } from '../helpers/engine.js';
import { waitEvent } from '../helpers/events.js';
import { freshSqlite, type FreshSqlite } from '../helpers/store.js';

const WINDOW = 4;
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
  const m = await manualEngine(db.path, rules, open[0]?.clock, WINDOW);
  open.push(m);
  return m;
}

interface Sub {
  unique?: string;
  priority?: Priority;
  runAt?: number;
  payload?: string;
}

async function submit(engine: Engine, s: Sub = {}): Promise<string> {
  const r = engine.submit({
    fn: 'resize',
    unique: s.unique ?? '',
    payload: Buffer.from(s.payload ?? 'x'),
    priority: s.priority ?? 1,
    background: true,
    runAt: s.runAt ?? null,
  });
  return r.ready === null ? r.job.handle : (await r.ready).handle;
}

function worker(engine: Engine): Worker {
  const w = engine.addWorker(fakeWorker());
  engine.canDo(w, 'resize', null);
  return w;
}

/** What a worker does: grab; with nothing in the window yet, sleep until a job comes in (a NOOP) and grab again. */
async function next(engine: Engine, w: Worker): Promise<Job> {
  for (;;) {
    const queued = waitEvent(engine, 'job:queued');
    const a = engine.grab(w);
    if (a) {
      queued.catch(() => undefined);
      assert.equal(await a.ready, true);
      engine.assignmentSent(w, a.job);
      return a.job;
    }
    await queued;
  }
}

/** Runs `count` jobs to completion, returning their payloads in delivery order; then nothing is left. */
async function drain(engine: Engine, w: Worker, count: number): Promise<string[]> {
  const seen: string[] = [];
  while (seen.length < count) {
    const job = await next(engine, w);
    seen.push(job.payload.toString());
    const done = waitEvent(engine, 'job:completed');
    engine.workComplete(w, job.handle, Buffer.alloc(0));
    await done;
  }
  assert.equal(engine.functions.get('resize')?.total ?? 0, 0, 'nothing is left');
  return seen;
}

const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

test('a backlog many times the window runs in submission order, with memory holding only the window', async () => {
  const { engine } = await start();
  const w = worker(engine);
  for (const p of names('j', 25)) await submit(engine, { payload: p });
  const fn = engine.functions.get('resize')!;
  assert.equal(fn.windowed[1], WINDOW, 'the window is full');
  assert.equal(fn.stored[1], 25 - WINDOW, 'the rest waits in the store');
  assert.equal(fn.total, 25);
  assert.ok(engine.jobCount <= WINDOW, `memory holds ${engine.jobCount} jobs`);
  assert.deepEqual(await drain(engine, w, 25), names('j', 25));
  assert.equal(fn.total, 0);
});

test('priorities hold across refills: every high job before any normal one, FIFO within each', async () => {
  const { engine } = await start();
  for (const p of names('low', 9)) await submit(engine, { payload: p, priority: 2 });
  for (const p of names('normal', 9)) await submit(engine, { payload: p, priority: 1 });
  for (const p of names('high', 9)) await submit(engine, { payload: p, priority: 0 });
  assert.ok(engine.jobCount <= 3 * WINDOW, `memory holds ${engine.jobCount} jobs`);
  const w = worker(engine);
  assert.deepEqual(await drain(engine, w, 27), [...names('high', 9), ...names('normal', 9), ...names('low', 9)]);
});

test('a submission coalesces with a queued job that only the store holds, and gets its handle', async () => {
  const { engine } = await start();
  const handles: string[] = [];
  for (let i = 0; i < 10; i++) handles.push(await submit(engine, { unique: `u${i}`, payload: `p${i}` }));
  assert.equal(engine.job(handles[9]!), undefined, 'beyond the window');
  assert.equal(await submit(engine, { unique: 'u9', payload: 'other' }), handles[9]);
  assert.equal(await submit(engine, { unique: 'u0', payload: 'other' }), handles[0]);
  assert.equal(engine.functions.get('resize')!.total, 10);
  const w = worker(engine);
  assert.deepEqual(await drain(engine, w, 10), names('p', 10));
  // Gone from the store once done: the key is free again.
  assert.notEqual(await submit(engine, { unique: 'u9' }), handles[9]);
});

test('GET_STATUS and cancel find a job only the store holds; the cancelled job is quarantined and never runs', async () => {
  const { engine, store } = await start();
  const handles: string[] = [];
  for (let i = 0; i < 10; i++) handles.push(await submit(engine, { payload: `p${i}` }));
  const last = handles[9]!;
  assert.deepEqual(await engine.status(last), { known: true, running: false, numerator: 0, denominator: 0, waiters: 0 });
  assert.equal((await engine.status('H:test:999')).known, false);
  const quarantined = waitEvent(engine, 'job:quarantined');
  assert.equal(await engine.cancel(last), true);
  const [entry] = await quarantined;
  assert.equal(entry.reason, 'cancelled');
  assert.equal((await store.quarantineGet(entry.id))?.handle, last);
  assert.equal(await engine.cancel(last), false, 'already gone');
  assert.equal(engine.functions.get('resize')!.total, 9);
  const w = worker(engine);
  assert.deepEqual(await drain(engine, w, 9), names('p', 9));
});

test('scheduled jobs wait in the store and join the back of the line when due, earliest first', async () => {
  const { engine, clock } = await start();
  const t = clock.now();
  await submit(engine, { payload: 'late', runAt: t + 2000 });
  await submit(engine, { payload: 'early', runAt: t + 1000 });
  for (const p of names('now', 6)) await submit(engine, { payload: p });
  const fn = engine.functions.get('resize')!;
  assert.deepEqual(fn.scheduled, [0, 2, 0]);
  assert.equal(fn.total, 8);
  clock.advance(2000);
  const w = worker(engine);
  assert.deepEqual(await drain(engine, w, 8), [...names('now', 6), 'early', 'late']);
  assert.deepEqual(fn.scheduled, [0, 0, 0]);
});

test('a retry goes to the back of the line, behind jobs that only the store holds', async () => {
  const { engine } = await start([{ match: 'resize', maxAttempts: 3, backoff: { type: 'fixed', base: 0, cap: 0, jitter: false } }]);
  for (const p of names('j', 8)) await submit(engine, { payload: p });
  const w = worker(engine);
  const first = await next(engine, w);
  assert.equal(first?.payload.toString(), 'j0');
  const retried = waitEvent(engine, 'job:retry');
  engine.workFail(w, first!.handle, null);
  await retried;
  assert.deepEqual(await drain(engine, w, 8), [...names('j', 8).slice(1), 'j0']);
});

test('jobs requeued from quarantine join the back of the line through the store', async () => {
  const { engine } = await start();
  const handles: string[] = [];
  for (let i = 0; i < 8; i++) handles.push(await submit(engine, { payload: `p${i}` }));
  assert.equal(await engine.cancel(handles[0]!), true);
  await engine.flush();
  const [entry] = (await engine.quarantine.list({}, { limit: 10 })).entries;
  await engine.quarantine.requeue({ ids: [entry!.id] });
  assert.equal(engine.functions.get('resize')!.total, 8);
  const w = worker(engine);
  assert.deepEqual(await drain(engine, w, 8), [...names('p', 8).slice(1), 'p0']);
});

test('a restart in the middle of a drain: windowed jobs keep their place, running ones are charged a crash, nothing runs twice', async () => {
  const first = await start([{ match: 'resize', maxCrashes: 3, backoff: FIXED }]);
  for (const p of names('j', 12)) await first.engine.submit({ fn: 'resize', unique: '', payload: Buffer.from(p), priority: 1, background: true }).ready;
  const w = worker(first.engine);
  const running = await next(first.engine, w);
  assert.equal(running?.payload.toString(), 'j0');
  // j1..j3 sit in the window (held), j4.. in the store; the node stops with j0 running.
  await first.engine.close();
  open = [];

  const second = await start([{ match: 'resize', maxCrashes: 3, backoff: FIXED }]);
  const fn = second.engine.functions.get('resize')!;
  assert.equal(fn.total, 12, 'every job is counted: 11 queued and the crashed one waiting its backoff');
  assert.deepEqual(fn.scheduled, [0, 1, 0]);
  second.clock.advance(1000);
  const w2 = worker(second.engine);
  const order = await drain(second.engine, w2, 12);
  assert.deepEqual(order, [...names('j', 12).slice(1), 'j0']);
});

test('a job waiting in the store past its deadline is quarantined as expired at its deadline, not when a window reaches it', async () => {
  const { engine, clock, store } = await start();
  const t = clock.now();
  for (const p of names('j', 6)) await submit(engine, { payload: p });
  const r = engine.submit({ fn: 'resize', unique: '', payload: Buffer.from('late'), priority: 1, background: true, deadline: t + 500 });
  const told = await r.ready;
  assert.equal(engine.job(told!.handle), undefined, 'beyond the window');
  const quarantined = waitEvent(engine, 'job:quarantined');
  clock.advance(500);
  const [entry] = await quarantined;
  assert.equal(entry.reason, 'expired');
  assert.equal(entry.handle, told!.handle);
  assert.equal((await store.quarantineGet(entry.id))?.reason, 'expired');
  assert.equal(engine.functions.get('resize')!.total, 6);
  const w = worker(engine);
  assert.deepEqual(await drain(engine, w, 6), names('j', 6));
});

test('a job whose JOB_ASSIGN never reached its worker goes back to the head of its line at once', async () => {
  const { engine } = await start();
  for (const p of names('j', 6)) await submit(engine, { payload: p });
  const w = worker(engine);
  const a = engine.grab(w);
  assert.ok(a);
  assert.equal(await a.ready, true);
  // The worker hangs up before the JOB_ASSIGN went out: j0 keeps its place.
  const ended = waitEvent(engine, 'attempt:ended');
  engine.removeWorker(w);
  assert.equal((await ended)[1].outcome, 'returned');
  const w2 = worker(engine);
  assert.deepEqual(await drain(engine, w2, 6), names('j', 6));
});
