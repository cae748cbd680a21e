// Two nodes on one PostgreSQL store: each engine holds its own windows (rows held with FOR UPDATE SKIP
// LOCKED), and only for functions it has workers for, at most SHARED_WINDOW_PER_WORKER jobs per worker;
// it releases them when its last worker of the function leaves; it reads the counts again when another
// node commits queued jobs (LISTEN/NOTIFY) or every sharedPollMs; background submissions coalesce on
// the store's unique index, and no job is delivered twice. The clocks are manual and never advanced:
// the poll never runs, so whatever reaches the other node came by a notification.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { ManualClock } from '../../src/core/clock.js';
import { Engine } from '../../src/core/engine.js';
import type { Job } from '../../src/core/job.js';
import type { Worker } from '../../src/core/worker.js';
import { fakeWorker } from '../helpers/engine.js';
import { waitEvent } from '../helpers/events.js';
import { freshPostgres } from '../helpers/postgres.js';
import { eventually } from '../helpers/wait.js';

async function node(
  t: import('node:test').TestContext,
  db: ReturnType<typeof freshPostgres>,
  name: string,
  window = 4,
): Promise<{ engine: Engine; clock: ManualClock; reads: () => number }> {
  const store = db.store({ node: name });
  await store.open();
  // Counted, to know when a read of the counts is over (what it found decides what a worker is woken for).
  let reads = 0;
  const countsLoad = store.countsLoad.bind(store);
  store.countsLoad = async () => {
    const counts = await countsLoad();
    reads++;
    return counts;
  };
  const clock = new ManualClock();
  const engine = new Engine({
    store,
    logger: pino({ level: 'silent' }),
    clock,
    handlePrefix: `H:${name}:`,
    limits: { maxPayloadBytes: 1 << 20, maxUniqueBytes: 64, maxQueue: 0 },
    window,
    sharedPollMs: 3_600_000,
  });
  await engine.start();
  t.after(() => engine.close());
  return { engine, clock, reads: () => reads };
}

async function submit(engine: Engine, payload: string, unique = ''): Promise<string> {
  const r = engine.submit({ fn: 'resize', unique, payload: Buffer.from(payload), priority: 1, background: true });
  return r.ready === null ? r.job.handle : (await r.ready).handle;
}

function worker(engine: Engine): Worker {
  const w = engine.addWorker(fakeWorker());
  engine.canDo(w, 'resize', null);
  return w;
}

/** Takes and completes jobs until `count` are done or nothing more comes within the timeout. */
async function drain(engine: Engine, w: Worker, count: number, seen: string[]): Promise<void> {
  while (seen.length < count) {
    const a = engine.grab(w);
    if (a === null) {
      // Listening from now, before anything asynchronous: a refill's jobs arrive in a later turn.
      await waitEvent(engine, 'job:queued', () => true, 5000);
      continue;
    }
    assert.equal(await a.ready, true);
    engine.assignmentSent(w, a.job);
    seen.push((a.job as Job).payload.toString());
    const done = waitEvent(engine, 'job:completed');
    engine.workComplete(w, a.job.handle, Buffer.alloc(0));
    await done;
  }
}

/** Held rows per node, from the store. */
async function heldBy(db: ReturnType<typeof freshPostgres>): Promise<Record<string, number>> {
  const rows = await db.sql<{ owner: string; n: number }>(`SELECT owner, count(*)::int AS n FROM jobs WHERE state = 'held' GROUP BY owner`);
  return Object.fromEntries(rows.map((r) => [r.owner, r.n]));
}

test('two nodes on one PostgreSQL store: a node without workers holds nothing; the other runs every job once, in line; uniques coalesce across nodes', async (t) => {
  const db = freshPostgres();
  t.after(() => db.cleanup());
  const a = await node(t, db, 'node-a');
  const b = await node(t, db, 'node-b');

  const handles = new Map<string, string>();
  for (let i = 0; i < 20; i++) handles.set(`u${i}`, await submit(a.engine, `j${i}`, `u${i}`));
  // The same unique submitted to the other node: one job, one handle.
  assert.equal(await submit(b.engine, 'again', 'u7'), handles.get('u7'));
  assert.equal(await submit(b.engine, 'again', 'u19'), handles.get('u19'));
  assert.deepEqual(await heldBy(db), {}, 'no node has a worker for resize: every job waits in the store');

  // b's first worker reads the counts at once and takes every job, in line.
  const wb = worker(b.engine);
  const seenB: string[] = [];
  await drain(b.engine, wb, 20, seenB);
  assert.deepEqual(
    seenB,
    Array.from({ length: 20 }, (_, i) => `j${i}`),
    'in line',
  );
  await b.engine.flush();
  const [left] = await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM jobs');
  assert.equal(left?.n, 0, 'the store holds nothing more');
});

test('a node holds jobs only for its workers, at most 8 per worker (32 at least); when its last worker leaves, its window goes back in line and the other node runs it', async (t) => {
  const db = freshPostgres();
  t.after(() => db.cleanup());
  const a = await node(t, db, 'node-a', 2048);
  const b = await node(t, db, 'node-b', 2048);
  const wa = worker(a.engine);
  for (let i = 0; i < 100; i++) await submit(a.engine, `j${i}`);
  assert.deepEqual(await heldBy(db), { 'node-a': 32 }, 'one worker: the floor of 32');
  // Its first job is taken (running), 31 wait in its window; the worker leaves before answering.
  const first = a.engine.grab(wa);
  assert.ok(first !== null && (await first.ready) === true);
  a.engine.assignmentSent(wa, first.job);
  const requeued = waitEvent(a.engine, 'job:retry');
  a.engine.removeWorker(wa);
  await requeued;
  await a.engine.flush();
  assert.deepEqual(await heldBy(db), {}, 'the window went back to the store');

  const wb = worker(b.engine);
  const seen: string[] = [];
  await drain(b.engine, wb, 99, seen);
  // The 31 jobs a held and never started keep their places.
  assert.deepEqual(
    seen,
    Array.from({ length: 99 }, (_, i) => `j${i + 1}`),
  );
  // The one that crashed waits for its backoff in the store, held by no node.
  await b.engine.flush();
  assert.deepEqual(await db.sql('SELECT state, owner FROM jobs'), [{ state: 'scheduled', owner: null }]);
});

test('LISTEN/NOTIFY: a worker sleeping on one node is woken by a submission to the other, with no poll', async (t) => {
  const db = freshPostgres();
  t.after(() => db.cleanup());
  const a = await node(t, db, 'node-a');
  const b = await node(t, db, 'node-b');
  const wb = worker(b.engine);
  // b read the counts at its start and for its first worker: both over before the submission, so only a
  // notification can tell b of it.
  await eventually(() => b.reads() === 2, "b's read of the counts for its first worker");
  const conn = wb.conn as ReturnType<typeof fakeWorker>;
  assert.equal(b.engine.grab(wb), null);
  assert.equal(b.engine.preSleep(wb), false, 'asleep: nothing to do');
  const queued = waitEvent(b.engine, 'job:queued', () => true, 5000);
  const started = performance.now();
  await submit(a.engine, 'wake-up');
  const [job] = await queued;
  const ms = performance.now() - started;
  assert.equal(conn.woken, 1, 'the sleeping worker got its NOOP');
  assert.equal(b.reads(), 3, 'one more read of the counts, for the notification');
  assert.ok(ms < 500, `woken in ${ms.toFixed(0)} ms, well before a 1 s poll`);
  const got = b.engine.grab(wb);
  assert.equal(got?.job, job);
});

test('LISTEN/NOTIFY: a listening connection that drops is made again, and wake-ups come through it', async (t) => {
  const db = freshPostgres();
  t.after(() => db.cleanup());
  const a = await node(t, db, 'node-a');
  const b = await node(t, db, 'node-b');
  const listening = `LISTEN "lazaret_${db.schema}"`;
  const listeners = async (): Promise<number[]> =>
    (await db.sql<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE query = $1 ORDER BY pid', [listening])).map((r) => r.pid);
  const before = await listeners();
  assert.equal(before.length, 2, 'one listening connection per node');
  const [cut] = await db.sql<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE query = $1 AND application_name = 'lazaret node-b'`, [listening]);
  await db.sql('SELECT pg_terminate_backend($1)', [cut!.pid]);
  await eventually(
    async () => {
      const now = await listeners();
      return now.length === 2 && !now.includes(cut!.pid) ? now : undefined;
    },
    "node-b's listening connection to be made again",
    5000,
  );
  const wb = worker(b.engine);
  // Read at its start, after the reconnection (notifications may have been lost) and for its first worker.
  await eventually(() => b.reads() === 3, "b's reads of the counts after the reconnection and for its first worker");
  assert.equal(b.engine.grab(wb), null);
  assert.equal(b.engine.preSleep(wb), false);
  const queued = waitEvent(b.engine, 'job:queued', () => true, 5000);
  await submit(a.engine, 'after the cut');
  await queued;
  assert.equal((wb.conn as ReturnType<typeof fakeWorker>).woken, 1);
});
