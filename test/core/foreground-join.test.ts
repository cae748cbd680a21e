// A foreground submission whose function and unique a background job only the store holds has joins
// that job (its handle, its result; it runs once), as it would join it in memory: on SQLite beyond a
// window of 2, and on PostgreSQL across two nodes, where a node without workers for a function holds
// none of its jobs.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import pino from 'pino';
import { ManualClock } from '../../src/core/clock.js';
import { Engine, type SubmitResult } from '../../src/core/engine.js';
import type { Job, Waiter, WorkUpdate } from '../../src/core/job.js';
import type { Worker } from '../../src/core/worker.js';
import { fakeWorker, manualEngine } from '../helpers/engine.js';
import { waitEvent } from '../helpers/events.js';
import { freshPostgres } from '../helpers/postgres.js';
import { freshSqlite } from '../helpers/store.js';

/** A foreground client: what it was sent, as `kind:handle:data`. */
function client(): Waiter & { got: string[] } {
  return {
    exceptions: true,
    got: [],
    deliver(job: Job, update: WorkUpdate) {
      this.got.push(`${update.kind}:${job.handle}:${'data' in update ? update.data.toString() : ''}`);
    },
  };
}

function submit(engine: Engine, unique: string, payload: string, waiter?: Waiter): SubmitResult {
  return engine.submit({ fn: 'resize', unique, payload: Buffer.from(payload), priority: 1, background: waiter === undefined, ...(waiter ? { waiter } : {}) });
}

async function handleOf(r: SubmitResult): Promise<string> {
  return r.ready === null ? r.job.handle : (await r.ready).handle;
}

function worker(engine: Engine): Worker {
  const w = engine.addWorker(fakeWorker());
  engine.canDo(w, 'resize', null);
  return w;
}

/** Runs jobs until `count` are done, completing each with `done <payload>`; returns the payloads run. */
async function run(engine: Engine, w: Worker, count: number): Promise<string[]> {
  const seen: string[] = [];
  while (seen.length < count) {
    const queued = waitEvent(engine, 'job:queued', () => true, 5000);
    const a = engine.grab(w);
    if (a === null) {
      await queued;
      continue;
    }
    queued.catch(() => undefined);
    assert.notEqual(await a.ready, false, 'delivered (a foreground job is ready at once)');
    engine.assignmentSent(w, a.job);
    seen.push(a.job.payload.toString());
    const done = waitEvent(engine, 'job:completed');
    engine.workComplete(w, a.job.handle, Buffer.from(`done ${a.job.payload.toString()}`));
    await done;
  }
  return seen;
}

async function sqliteEngine(t: TestContext): Promise<{ engine: Engine; clock: ManualClock }> {
  const db = await freshSqlite();
  const { engine, clock } = await manualEngine(db.path, [], new ManualClock(), 2);
  t.after(async () => {
    await engine.close();
    await db.cleanup();
  });
  return { engine, clock };
}

test('SQLite: foreground submissions of a queued or scheduled job beyond the window join it, even two at once (and a background one meanwhile); it runs once and both get its result', async (t) => {
  const { engine, clock } = await sqliteEngine(t);
  const handles: string[] = [];
  for (let i = 0; i < 4; i++) handles.push(await handleOf(submit(engine, `u${i}`, `p${i}`)));
  const later = engine.clock.now() + 60_000;
  const scheduled = await handleOf(engine.submit({ fn: 'resize', unique: 's', payload: Buffer.from('ps'), priority: 1, background: true, runAt: later }));
  assert.equal(engine.job(handles[3]!), undefined, 'beyond the window');
  assert.equal(engine.job(scheduled), undefined, 'scheduled: in the store');

  // Two at once, while the first's lookup is in flight: one job.
  const [c1, c2, c3] = [client(), client(), client()];
  const first = submit(engine, 'u3', 'ignored', c1);
  const second = submit(engine, 'u3', 'ignored', c2);
  const background = submit(engine, 'u3', 'ignored too');
  const acks = await Promise.all([first.ready, second.ready]);
  assert.equal(await handleOf(background), handles[3], 'a background submission meanwhile joins it too');
  assert.deepEqual(
    acks.map((a) => [a?.handle, a?.created]),
    [
      [handles[3], false],
      [handles[3], false],
    ],
  );
  assert.equal(acks[0]?.job, engine.job(handles[3]!));
  assert.deepEqual(engine.statusUnique('u3'), { known: true, running: false, numerator: 0, denominator: 0, waiters: 2 });
  const s = submit(engine, 's', 'ignored', c3);
  assert.equal(await handleOf(s), scheduled);
  assert.equal(engine.job(scheduled)?.state, 'scheduled', 'waits for its run-at in memory now');

  const w = worker(engine);
  assert.deepEqual((await run(engine, w, 4)).sort(), ['p0', 'p1', 'p2', 'p3'], 'each once');
  assert.deepEqual(c1.got, [`complete:${handles[3]}:done p3`]);
  assert.deepEqual(c2.got, [`complete:${handles[3]}:done p3`]);
  clock.advance(60_000);
  assert.deepEqual(await run(engine, w, 1), ['ps']);
  assert.deepEqual(c3.got, [`complete:${scheduled}:done ps`]);
  assert.equal(engine.functions.get('resize')?.total, 0, 'nothing left');
});

test('SQLite: a foreground submission asks the store only when it may hold jobs of the function; one it has no job for runs on its own', async (t) => {
  const { engine } = await sqliteEngine(t);
  const c = client();
  assert.equal(submit(engine, 'a', 'pa', c).ready, null, 'nothing stored for resize: no lookup');
  for (let i = 0; i < 3; i++) await handleOf(submit(engine, `u${i}`, `p${i}`));
  const own = submit(engine, 'b', 'pb', c);
  assert.notEqual(own.ready, null, 'a job waits in the store: looked up');
  assert.deepEqual(await own.ready, { handle: own.job.handle, created: true, job: own.job });
  const w = worker(engine);
  assert.deepEqual((await run(engine, w, 5)).sort(), ['p0', 'p1', 'p2', 'pa', 'pb']);
  assert.deepEqual(c.got.sort(), [`complete:${own.job.handle}:done pb`, `complete:H:test:1:done pa`].sort());
});

test('PostgreSQL: a background job submitted on a node with no worker is joined by a foreground submission on another node, whose worker runs it once', async (t) => {
  const db = freshPostgres();
  t.after(() => db.cleanup());
  const node = async (name: string): Promise<Engine> => {
    const store = db.store({ node: name });
    await store.open();
    const engine = new Engine({
      store,
      logger: pino({ level: 'silent' }),
      clock: new ManualClock(),
      handlePrefix: `H:${name}:`,
      limits: { maxPayloadBytes: 1 << 20, maxUniqueBytes: 64, maxQueue: 0 },
      sharedPollMs: 3_600_000,
    });
    await engine.start();
    t.after(() => engine.close());
    return engine;
  };
  const a = await node('node-a');
  const b = await node('node-b');
  const handle = await handleOf(submit(a, 'u1', 'p1'));
  assert.equal(a.job(handle), undefined, 'node-a has no worker: the job waits in the store');

  const stored = { known: true, running: false, numerator: 0, denominator: 0, waiters: 0 };
  assert.deepEqual(await b.statusUniqueAnywhere('u1'), stored, 'GET_STATUS_UNIQUE finds it in the store');
  assert.equal(b.statusUnique('u1').known, false, 'memory alone does not');

  const c = client();
  const joined = submit(b, 'u1', 'ignored', c);
  const told = await joined.ready;
  assert.deepEqual([told?.handle, told?.created], [handle, false], "node-a's job, by its handle");
  const [row] = await db.sql<{ owner: string }>(`SELECT owner FROM jobs WHERE handle = $1`, [handle]);
  assert.equal(row?.owner, 'node-b', 'held by the node its client waits on');

  assert.deepEqual(await a.statusUniqueAnywhere('u1'), stored, 'held by node-b, not running yet');

  const w = worker(b);
  const queued = waitEvent(b, 'job:queued', () => true, 5000);
  let a1 = b.grab(w);
  if (a1 === null) {
    await queued;
    a1 = b.grab(w);
  } else queued.catch(() => undefined);
  assert.equal(a1?.job.handle, handle);
  assert.equal(await a1.ready, true);
  assert.deepEqual(await a.statusUniqueAnywhere('u1'), { ...stored, running: true }, 'running on node-b, seen from node-a');
  const done = waitEvent(b, 'job:completed');
  b.workComplete(w, handle, Buffer.from('done p1'));
  await done;
  assert.deepEqual(c.got, [`complete:${handle}:done p1`]);
  await b.flush();
  const [left] = await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM jobs');
  assert.equal(left?.n, 0, 'ran once, and is gone from the store');
});
