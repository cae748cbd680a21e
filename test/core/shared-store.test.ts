// Two nodes on one PostgreSQL store: each engine holds its own windows (rows held with FOR UPDATE SKIP
// LOCKED), reads the counts again every sharedPollMs to see what the other node took, coalesces
// background submissions on the store's unique index, and no job is delivered twice.

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

async function node(t: import('node:test').TestContext, db: ReturnType<typeof freshPostgres>, name: string): Promise<{ engine: Engine; clock: ManualClock }> {
  const store = db.store({ node: name });
  await store.open();
  const clock = new ManualClock();
  const engine = new Engine({
    store,
    logger: pino({ level: 'silent' }),
    clock,
    handlePrefix: `H:${name}:`,
    limits: { maxPayloadBytes: 1 << 20, maxUniqueBytes: 64, maxQueue: 0 },
    window: 4,
    sharedPollMs: 1000,
  });
  await engine.start();
  t.after(() => engine.close());
  return { engine, clock };
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
    const queued = waitEvent(engine, 'job:queued', () => true, 5000);
    const a = engine.grab(w);
    if (a === null) {
      await queued;
      continue;
    }
    queued.catch(() => undefined);
    assert.equal(await a.ready, true);
    engine.assignmentSent(w, a.job);
    seen.push((a.job as Job).payload.toString());
    const done = waitEvent(engine, 'job:completed');
    engine.workComplete(w, a.job.handle, Buffer.alloc(0));
    await done;
  }
}

test('two nodes on one PostgreSQL store: jobs submitted to one are run by the other, each once; uniques coalesce across nodes', async (t) => {
  const db = freshPostgres();
  t.after(() => db.cleanup());
  const a = await node(t, db, 'node-a');
  const b = await node(t, db, 'node-b');

  const handles = new Map<string, string>();
  for (let i = 0; i < 20; i++) handles.set(`u${i}`, await submit(a.engine, `j${i}`, `u${i}`));
  // The same unique submitted to the other node: one job, one handle.
  assert.equal(await submit(b.engine, 'again', 'u7'), handles.get('u7'));
  assert.equal(await submit(b.engine, 'again', 'u19'), handles.get('u19'));

  // Node b learns of a's jobs at its next read of the counts, and its worker takes what a does not hold.
  const wb = worker(b.engine);
  const seenB: string[] = [];
  const refreshed = waitEvent(b.engine, 'job:queued');
  b.clock.advance(1000);
  await refreshed;
  await drain(b.engine, wb, 16, seenB);
  // a holds the first four in its window: its own worker runs them.
  const wa = worker(a.engine);
  const seenA: string[] = [];
  await drain(a.engine, wa, 4, seenA);
  const all = [...seenA, ...seenB];
  assert.equal(new Set(all).size, 20, `each job once: ${all.join(' ')}`);
  assert.deepEqual(seenA, ['j0', 'j1', 'j2', 'j3']);
  assert.deepEqual(
    seenB,
    Array.from({ length: 16 }, (_, i) => `j${i + 4}`),
    'in line',
  );
  await a.engine.flush();
  await b.engine.flush();
  const [left] = await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM jobs');
  assert.equal(left?.n, 0, 'the store holds nothing more');
});
