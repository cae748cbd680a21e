// The PostgreSQL store as the queue of record, beyond the conformance suite: coalescing in write(),
// windowFill in line and with two nodes at once (SKIP LOCKED), recover, dueMove, counts, jobHold,
// jobGet, jobsPage, releases and requeues, and ids reserved in blocks no two nodes share.

import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import pg from 'pg';
import { setTimeout as delay } from 'node:timers/promises';
import { IdAllocator } from '../../src/core/ids.js';
import { isLazaretError } from '../../src/errors.js';
import { coalescingKey } from '../../src/storage/coalesce-key.js';
import { migrationsDir, readMigrations } from '../../src/storage/postgres/migrate.js';
import type { PostgresStore } from '../../src/storage/postgres/store.js';
import type { JobRow } from '../../src/storage/types.js';
import { freshPostgres, TEST_POSTGRES_URL, type FreshPostgres } from '../helpers/postgres.js';
import { postgresProxy } from '../helpers/tcp-proxy.js';
import { batch, end, job, quarantined, start } from './conformance/harness.js';

function qjob(id: number, over: Partial<JobRow> = {}): JobRow {
  return job(id, { state: 'queued', coalesceKey: null, queuedAt: 1000 + id, ...over });
}

async function fresh(t: TestContext): Promise<{ pg: FreshPostgres; store: PostgresStore }> {
  const db = freshPostgres();
  t.after(() => db.cleanup());
  const store = db.store({ node: 'node-a' });
  await store.open();
  return { pg: db, store };
}

/** The schema version a fresh store reaches: the highest migration file's. */
const NEWEST = readMigrations(migrationsDir()).at(-1)?.version;

const ids = (rows: readonly { id: number }[]): number[] => rows.map((r) => r.id);

describe('postgres store: coalescing in write()', () => {
  it('a job whose key a stored job of its function has is not stored; the result names that job', async (t) => {
    const { store } = await fresh(t);
    assert.deepEqual(await store.write(batch({ insertJobs: [qjob(1, { coalesceKey: 'k' }), qjob(2, { coalesceKey: 'k', function: 'other' }), qjob(3)] })), {
      coalesced: [],
    });
    const result = await store.write(
      batch({
        insertJobs: [qjob(4, { coalesceKey: 'k' }), qjob(5, { coalesceKey: 'fresh' }), qjob(6, { coalesceKey: 'fresh' }), qjob(7)],
        // Rows about a job that coalesced name a job that is not stored: left out, not a failure.
        startAttempts: [start(4, 1), start(5, 1)],
      }),
    );
    assert.deepEqual(
      result.coalesced.sort((a, b) => a.id - b.id),
      [
        { id: 4, existingId: 1, existingHandle: 'H:test:1' },
        { id: 6, existingId: 5, existingHandle: 'H:test:5' },
      ],
    );
    assert.equal(await store.jobGet(4), null);
    assert.equal(await store.jobGet(6), null);
    assert.deepEqual((await store.jobGet(5))?.attempts.length, 1);
    assert.deepEqual(ids(await store.jobsPage(0, 100)), [1, 2, 3, 5, 7]);
    // Once the holder of a key is gone, the key is free again.
    await store.write(batch({ deleteJobs: [1] }));
    assert.deepEqual((await store.write(batch({ insertJobs: [qjob(8, { coalesceKey: 'k' })] }))).coalesced, []);
  });

  it('two nodes storing the same key at once: one job is stored, the other coalesces onto it', async (t) => {
    const { pg: db, store: a } = await fresh(t);
    const b = db.store({ node: 'node-b' });
    await b.open();
    for (let round = 0; round < 10; round++) {
      const key = `race-${round}`;
      const [ra, rb] = await Promise.all([
        a.write(batch({ insertJobs: [qjob(1000 + round, { coalesceKey: key })] })),
        b.write(batch({ insertJobs: [qjob(2000 + round, { coalesceKey: key })] })),
      ]);
      const coalesced = [...ra!.coalesced, ...rb!.coalesced];
      assert.equal(coalesced.length, 1, `round ${round}`);
      const stored = await db.sql<{ id: number }>('SELECT id::int FROM jobs WHERE coalesce_key = $1', [Buffer.from(key)]);
      assert.deepEqual(stored, [{ id: coalesced[0]!.existingId }]);
    }
  });

  it('the payload digest key (it starts with a NUL) round-trips and coalesces', async (t) => {
    const { store } = await fresh(t);
    const payload = Buffer.from([0, 1, 2, 3]);
    const key = coalescingKey('-', payload);
    await store.write(batch({ insertJobs: [qjob(1, { unique: '-', payload, coalesceKey: key })] }));
    assert.equal((await store.jobGet(1))?.coalesceKey, key);
    const result = await store.write(batch({ insertJobs: [qjob(2, { unique: '-', payload, coalesceKey: key })] }));
    assert.deepEqual(result.coalesced, [{ id: 2, existingId: 1, existingHandle: 'H:test:1' }]);
  });

  it('a duplicate id still fails the whole batch, also when it has the key of the job with that id', async (t) => {
    const { store } = await fresh(t);
    await store.write(batch({ insertJobs: [qjob(1), qjob(3, { coalesceKey: 'y' })] }));
    await assert.rejects(store.write(batch({ insertJobs: [qjob(2, { coalesceKey: 'x' }), qjob(1)] })), { code: 'LAZ_STORE_FAILED' });
    await assert.rejects(store.write(batch({ insertJobs: [qjob(2, { coalesceKey: 'x' }), qjob(3, { coalesceKey: 'y' })] })), {
      code: 'LAZ_STORE_FAILED',
      message: /handed out twice/,
    });
    assert.equal(await store.jobGet(2), null);
  });

  it('text with NUL characters is stored (as U+FFFD) rather than failing the group commit', async (t) => {
    const { store } = await fresh(t);
    await store.write(batch({ insertJobs: [qjob(1, { unique: 'a\u0000b', tags: ['user:\u0000'] })], startAttempts: [start(1, 1)] }));
    await store.write(batch({ endAttempts: [end(1, 1, { error: 'bad\u0000byte', evidence: { stderr: 'nul \u0000 here' } })] }));
    const got = await store.jobGet(1);
    assert.equal(got?.unique, 'a\uFFFDb');
    assert.deepEqual(got?.tags, ['user:\uFFFD']);
    assert.equal(got?.attempts[0]?.error, 'bad\uFFFDbyte');
    assert.deepEqual(got?.attempts[0]?.evidence, { stderr: 'nul \u0000 here' }, 'evidence is JSON, kept exactly');
  });
});

describe('postgres store: the queue', () => {
  it('windowFill takes queued jobs of one function and priority in line and holds them', async (t) => {
    const { store } = await fresh(t);
    await store.write(
      batch({
        insertJobs: [
          qjob(1, { priority: 0 }),
          qjob(2),
          qjob(3, { function: 'other' }),
          qjob(4),
          qjob(5, { state: 'scheduled', runAt: 9_999_999_999_999 }),
          qjob(6),
          qjob(7, { state: 'held' }),
        ],
      }),
    );
    const first = await store.windowFill('resize', 1, 2);
    assert.deepEqual(ids(first), [2, 4]);
    assert.equal(first[0]?.state, 'held');
    assert.equal((await store.jobGet(2))?.state, 'held');
    assert.deepEqual(ids(await store.windowFill('resize', 1, 10)), [6]);
    assert.deepEqual(await store.windowFill('resize', 1, 10), []);
    assert.deepEqual(await store.windowFill('resize', 0, 0), []);
    assert.deepEqual(ids(await store.windowFill('resize', 0, 10)), [1]);
    const [row] = await pgRows(store, 'SELECT owner, epoch::int FROM jobs WHERE id = 2');
    assert.deepEqual(row, { owner: 'node-a', epoch: store.holder.epoch });
  });

  it('two nodes filling the same window at once get different jobs, and together all of them', async (t) => {
    const { pg: db, store: a } = await fresh(t);
    const b = db.store({ node: 'node-b' });
    await b.open();
    await a.write(batch({ insertJobs: Array.from({ length: 400 }, (_, i) => qjob(i + 1)) }));
    const takes = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).windowFill('resize', 1, 25)));
    const all = takes.flatMap(ids);
    assert.equal(all.length, 400);
    assert.equal(new Set(all).size, 400, 'no job taken twice');
    for (const take of takes)
      assert.deepEqual(
        ids(take),
        [...ids(take)].sort((x, y) => x - y),
        'each take in line',
      );
    const owners = await db.sql<{ owner: string; n: number }>('SELECT owner, count(*)::int AS n FROM jobs GROUP BY owner ORDER BY owner');
    assert.equal(
      owners.reduce((s, o) => s + o.n, 0),
      400,
    );
  });

  it('windowFill skips rows another transaction has locked instead of waiting for it', async (t) => {
    const { store } = await fresh(t);
    await store.write(batch({ insertJobs: [qjob(1), qjob(2), qjob(3)] }));
    const other = await lockRows(t, store, [1]);
    assert.deepEqual(ids(await store.windowFill('resize', 1, 10)), [2, 3]);
    await other.query('ROLLBACK');
    assert.deepEqual(ids(await store.windowFill('resize', 1, 10)), [1]);
  });

  it('an end with requeue sends the job to the back of the line; a release keeps its place', async (t) => {
    const { store } = await fresh(t);
    await store.write(batch({ insertJobs: [qjob(1), qjob(2), qjob(3)] }));
    assert.deepEqual(ids(await store.windowFill('resize', 1, 2)), [1, 2]);
    await store.write(batch({ startAttempts: [start(1, 1)] }));
    await store.write(batch({ endAttempts: [{ ...end(1, 1), requeue: { state: 'queued', runAt: null, queuedAt: 5000 } }], releaseJobs: [2] }));
    const one = await store.jobGet(1);
    assert.equal(one?.state, 'queued');
    assert.equal(one?.queuedAt, 5000);
    assert.deepEqual(ids(await store.windowFill('resize', 1, 10)), [2, 3, 1]);
    // Backoff: scheduled, in no line until due.
    await store.write(batch({ startAttempts: [start(1, 2)] }));
    await store.write(batch({ endAttempts: [{ ...end(1, 2), requeue: { state: 'scheduled', runAt: 70_000, queuedAt: 70_000 } }] }));
    assert.deepEqual(await store.jobGet(1).then((j) => [j?.state, j?.runAt]), ['scheduled', 70_000]);
  });

  it('dueMove queues due scheduled jobs earliest first, behind those already queued, and tells the next run-at', async (t) => {
    const { store } = await fresh(t);
    await store.write(
      batch({
        insertJobs: [
          qjob(1, { state: 'scheduled', runAt: 300 }),
          qjob(2, { state: 'scheduled', runAt: 100 }),
          qjob(3),
          qjob(4, { state: 'scheduled', runAt: 200, function: 'other', priority: 2 }),
          qjob(5, { state: 'scheduled', runAt: 5000 }),
        ],
      }),
    );
    assert.deepEqual(await store.dueMove(50, 10), { moved: [], nextRunAt: 100 });
    assert.deepEqual(await store.dueMove(1000, 2), {
      moved: [
        { function: 'other', priority: 2, n: 1 },
        { function: 'resize', priority: 1, n: 1 },
      ],
      nextRunAt: 300,
    });
    assert.deepEqual(await store.dueMove(1000, 10), { moved: [{ function: 'resize', priority: 1, n: 1 }], nextRunAt: 5000 });
    assert.equal((await store.jobGet(2))?.queuedAt, 100, 'queued since it was due');
    assert.deepEqual(ids(await store.windowFill('resize', 1, 10)), [3, 2, 1]);
    assert.deepEqual(await store.dueMove(10_000, 0), { moved: [], nextRunAt: 5000 });
  });

  it('two nodes moving due jobs at once move each job once', async (t) => {
    const { pg: db, store: a } = await fresh(t);
    const b = db.store({ node: 'node-b' });
    await b.open();
    await a.write(batch({ insertJobs: Array.from({ length: 300 }, (_, i) => qjob(i + 1, { state: 'scheduled', runAt: 100 + i })) }));
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a : b).dueMove(10_000, 40)));
    const moved = results.flatMap((r) => r.moved).reduce((n, m) => n + m.n, 0);
    assert.equal(moved, 300);
    assert.deepEqual(await a.dueMove(10_000, 40), { moved: [], nextRunAt: null });
    const [counts] = (await a.countsLoad()).counts;
    assert.equal(counts?.queued, 300);
    const taken = await a.windowFill('resize', 1, 1000);
    assert.equal(taken.length, 300);
  });

  it('countsLoad counts what no node holds, per function and priority', async (t) => {
    const { store } = await fresh(t);
    await store.write(
      batch({
        insertJobs: [
          qjob(1, { queuedAt: 50 }),
          qjob(2, { queuedAt: 40 }),
          qjob(3, { state: 'scheduled', runAt: 900 }),
          qjob(4, { state: 'held' }),
          qjob(5, { function: 'other', priority: 0, state: 'scheduled', runAt: 700 }),
          qjob(6, { function: 'gone', state: 'held' }),
        ],
      }),
    );
    assert.deepEqual(await store.countsLoad(), {
      counts: [
        { function: 'other', priority: 0, queued: 0, scheduled: 1, oldestQueuedAt: null },
        // The first in line (job 1) has been queued since 50; job 2 came later in line.
        { function: 'resize', priority: 1, queued: 2, scheduled: 1, oldestQueuedAt: 50 },
      ],
      nextRunAt: 700,
      nextDeadline: null,
    });
  });

  it('countsLoad and deadlineTake: the deadlines of jobs no node holds; taken jobs are held and returned as they were', async (t) => {
    const { pg: db, store: a } = await fresh(t);
    const b = db.store({ node: 'node-b' });
    await b.open();
    await a.write(
      batch({
        insertJobs: [
          qjob(1, { deadline: 500 }),
          qjob(2, { deadline: 300, state: 'scheduled', runAt: 900 }),
          qjob(3, { deadline: 100, state: 'held' }),
          qjob(4, { deadline: 700 }),
          qjob(5),
          qjob(6, { deadline: 400 }),
        ],
        startAttempts: [start(6, 1)],
        endAttempts: [end(6, 1)],
      }),
    );
    assert.equal((await a.countsLoad()).nextDeadline, 300, 'the held job 3 is watched by its node');
    assert.deepEqual(await a.deadlineTake(50, 10), { jobs: [], nextDeadline: 300 });
    const first = await a.deadlineTake(450, 1);
    assert.deepEqual(
      first.jobs.map((j) => [j.id, j.state]),
      [[2, 'scheduled']],
    );
    assert.equal(first.nextDeadline, 400);
    const second = await b.deadlineTake(600, 10);
    assert.deepEqual(
      second.jobs.map((j) => [j.id, j.state, j.attempts.length]),
      [
        [6, 'queued', 1],
        [1, 'queued', 0],
      ],
    );
    assert.equal(second.nextDeadline, 700);
    assert.deepEqual(await db.sql('SELECT id::int, state, owner FROM jobs WHERE id IN (1, 2, 6) ORDER BY id'), [
      { id: 1, state: 'held', owner: 'node-b' },
      { id: 2, state: 'held', owner: 'node-a' },
      { id: 6, state: 'held', owner: 'node-b' },
    ]);
    assert.deepEqual(await a.deadlineTake(10_000, 0), { jobs: [], nextDeadline: 700 });
    assert.deepEqual(ids(await a.windowFill('resize', 1, 10)), [4, 5]);
    assert.deepEqual(await a.deadlineTake(10_000, 10), { jobs: [], nextDeadline: null });
  });

  it('deadlineTake skips rows another transaction has locked', async (t) => {
    const { store } = await fresh(t);
    await store.write(batch({ insertJobs: [qjob(1, { deadline: 10 }), qjob(2, { deadline: 20 })] }));
    const other = await lockRows(t, store, [1]);
    assert.deepEqual(ids((await store.deadlineTake(100, 10)).jobs), [2]);
    await other.query('ROLLBACK');
    assert.deepEqual(ids((await store.deadlineTake(100, 10)).jobs), [1]);
  });

  it('jobHold holds one queued or scheduled job; null when held already or missing', async (t) => {
    const { store } = await fresh(t);
    await store.write(batch({ insertJobs: [qjob(1), qjob(2, { state: 'scheduled', runAt: 10 }), qjob(3, { state: 'held' })] }));
    const held = await store.jobHold(1);
    assert.equal(held?.id, 1);
    assert.equal(held?.state, 'queued', 'returned as it was');
    assert.deepEqual(held?.attempts, []);
    assert.equal((await store.jobGet(1))?.state, 'held');
    assert.equal(await store.jobHold(1), null);
    assert.deepEqual(await store.jobHold(2).then((j) => [j?.id, j?.state]), [2, 'scheduled']);
    const [row] = await pgRows(store, 'SELECT owner, epoch::int FROM jobs WHERE id = 2');
    assert.deepEqual(row, { owner: 'node-a', epoch: store.holder.epoch });
    assert.equal(await store.jobHold(3), null);
    assert.equal(await store.jobHold(99), null);
  });

  it('jobsPage lists stored jobs by id without payloads, with their attempt counts', async (t) => {
    const { store } = await fresh(t);
    await store.write(batch({ insertJobs: [qjob(3, { tags: ['a:1'] }), qjob(1), qjob(2, { state: 'scheduled', runAt: 77 })], startAttempts: [start(3, 1)] }));
    const page = await store.jobsPage(1, 10);
    assert.deepEqual(page, [
      {
        id: 2,
        handle: 'H:test:2',
        function: 'resize',
        unique: 'u-2',
        priority: 1,
        state: 'scheduled',
        tags: [],
        submittedAt: job(2).submittedAt,
        queuedAt: 1002,
        runAt: 77,
        attempts: 0,
      },
      {
        id: 3,
        handle: 'H:test:3',
        function: 'resize',
        unique: 'u-3',
        priority: 1,
        state: 'queued',
        tags: ['a:1'],
        submittedAt: job(3).submittedAt,
        queuedAt: 1003,
        runAt: null,
        attempts: 1,
      },
    ]);
    assert.deepEqual(ids(await store.jobsPage(0, 1)), [1]);
    assert.deepEqual(await store.jobsPage(0, 0), []);
  });

  it('quarantineRequeue queues entries at the back with their coalescing key, unless a stored job has it', async (t) => {
    const { store } = await fresh(t);
    await store.write(batch({ insertJobs: [qjob(1, { unique: 'u-9', coalesceKey: 'u-9' }), qjob(2)], quarantine: [quarantined(9), quarantined(8)] }));
    await store.quarantineRequeue({}, 4242);
    const eight = await store.jobGet(8);
    const nine = await store.jobGet(9);
    assert.deepEqual([eight?.state, eight?.coalesceKey, eight?.queuedAt, eight?.runAt], ['queued', 'u-8', 4242, 4242]);
    assert.equal(nine?.coalesceKey, null, 'job 1 has its key');
    assert.deepEqual(ids(await store.windowFill('resize', 1, 10)), [1, 2, 8, 9]);
  });
});

describe('postgres store: recover at a node start', () => {
  it("returns this node's held jobs with an open attempt; its others go back in their place; other nodes' stay", async (t) => {
    const { pg: db, store: a } = await fresh(t);
    const b = db.store({ node: 'node-b' });
    await b.open();
    await a.write(batch({ insertJobs: [1, 2, 3, 4, 5, 6].map((id) => qjob(id, id === 4 ? { runAt: 10_000 } : {})) }));
    assert.deepEqual(ids(await a.windowFill('resize', 1, 4)), [1, 2, 3, 4]);
    assert.deepEqual(ids(await b.windowFill('resize', 1, 1)), [5]);
    await a.write(batch({ startAttempts: [start(1, 1), start(2, 1), start(4, 1)], endAttempts: [end(2, 1), end(4, 1)] }));
    await a.close();

    const again = db.store({ node: 'node-a' });
    await again.open();
    assert.ok(again.holder.epoch > 0);
    const kept = await again.recover(5000);
    assert.deepEqual(ids(kept), [1]);
    assert.equal(kept[0]?.attempts[0]?.endedAt, null);
    assert.equal(kept[0]?.state, 'held');
    assert.deepEqual(
      (
        await db.sql<{ id: number; state: string; owner: string | null; epoch: number | null }>(
          'SELECT id::int, state, owner, epoch::int FROM jobs ORDER BY id',
        )
      ).map((r) => [r.id, r.state, r.owner, r.epoch === again.holder.epoch]),
      [
        [1, 'held', 'node-a', true],
        [2, 'queued', null, false],
        [3, 'queued', null, false],
        [4, 'scheduled', null, false],
        [5, 'held', 'node-b', false],
        [6, 'queued', null, false],
      ],
    );
    // First in line again, ahead of 6.
    assert.deepEqual(ids(await again.windowFill('resize', 1, 10)), [2, 3, 6]);
    assert.deepEqual(await again.recover(5000).then(ids), [1]);
  });
});

describe('postgres store: ids, schema and errors', () => {
  it('idsNext hands two nodes blocks that do not overlap, and stays above every stored id', async (t) => {
    const { pg: db, store: a } = await fresh(t);
    const b = db.store({ node: 'node-b' });
    await b.open();
    assert.deepEqual(a.capabilities, { shared: true, idBlock: 500_000 });
    const [x, y] = await Promise.all([a.idsNext(), b.idsNext()]);
    assert.notEqual(x, y);
    assert.ok(Math.abs(x! - y!) >= 1_000_000, `${x} and ${y} are a block apart`);
    await a.write(batch({ insertJobs: [qjob(x!)], idWatermark: x! + 100_000 }));
    assert.equal(await a.idsNext(), x! + 100_001, 'within its own block, past its watermark');
    // Past the first half of its block: a new block, above every other node's.
    await a.write(batch({ idWatermark: x! + 600_000 }));
    const next = await a.idsNext();
    assert.ok(next >= Math.max(x!, y!) + 1_000_000, `${next} is a new block`);
    const c = db.store({ node: 'node-c' });
    await c.open();
    assert.ok((await c.idsNext()) >= next + 1_000_000);
  });

  it("two nodes' id allocators on one store (small blocks, many of them): every id is taken once", async (t) => {
    const db = freshPostgres();
    t.after(() => db.cleanup());
    const nodes = await Promise.all(
      ['n1', 'n2', 'n3'].map(async (node) => {
        const store = db.store({ node, idBlock: 40 });
        await store.open();
        const writes: Promise<unknown>[] = [];
        // As the engine stages it: the watermark goes out with a later group commit.
        const ids = new IdAllocator((w) => writes.push(delay(Math.floor(Math.random() * 5)).then(() => store.write(batch({ idWatermark: w })))), store);
        return { store, ids, writes };
      }),
    );
    assert.equal(nodes[0]!.store.capabilities.idBlock, 20);
    for (const n of nodes) n.ids.start(await n.store.idsNext());
    const taken = new Map<number, number>();
    for (let round = 0; round < 300; round++) {
      for (const [i, n] of nodes.entries()) {
        for (let tries = 0; ; tries++) {
          try {
            const id = n.ids.next();
            assert.equal(taken.get(id), undefined, `id ${id} taken by node ${i} and by node ${taken.get(id)}`);
            taken.set(id, i);
            break;
          } catch (err) {
            if (!isLazaretError(err) || err.code !== 'LAZ_STORE_BUSY' || tries > 500) throw err;
            await delay(2);
          }
        }
      }
      if (round % 7 === 0) await delay(1);
    }
    for (const n of nodes) await Promise.all(n.writes);
    assert.equal(taken.size, 900);
  });

  it('two nodes opening a new schema at once both succeed (the advisory lock)', async (t) => {
    const db = freshPostgres({ missing: true });
    t.after(() => db.cleanup());
    const stores = [db.store({ node: 'n1' }), db.store({ node: 'n2' }), db.store({ node: 'n3' })];
    await Promise.all(stores.map((s) => s.open()));
    const versions = await Promise.all(stores.map((s) => s.schemaVersion()));
    assert.deepEqual(versions, [NEWEST, NEWEST, NEWEST]);
  });

  it('refuses a schema of that name that Lazaret did not make, and a newer schema version', async (t) => {
    const db = freshPostgres({ missing: true });
    t.after(() => db.cleanup());
    await db.sql(`CREATE SCHEMA ${db.schema}`);
    await db.sql(`CREATE TABLE ${db.schema}.invoices (id int)`);
    await assert.rejects(db.store().open(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'LAZ_STORE_FOREIGN');
      assert.match(err.message, /invoices/);
      return true;
    });
    await db.sql(`DROP TABLE ${db.schema}.invoices`);
    const store = db.store();
    await store.open();
    await store.close();
    await db.sql(`INSERT INTO ${db.schema}.lazaret_migrations VALUES (99, 'future', 0)`);
    await assert.rejects(db.store().open(), { code: 'LAZ_SCHEMA_TOO_NEW' });
  });

  it("a node whose lock connection broke takes its name's lock again: a second adapter under the name is still refused", async (t) => {
    const db = freshPostgres();
    t.after(() => db.cleanup());
    const { proxy, url } = await postgresProxy(t);
    const first = db.store({ node: 'node-a', url });
    await first.open();
    const held = async (): Promise<number> =>
      (
        await db.sql<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
             AND ((classid::bigint << 32) | objid::bigint) = ((hashtext($1)::bigint << 32) | (hashtext('node-a')::bigint & 4294967295))`,
          [db.schema],
        )
      )[0]?.n ?? 0;
    assert.equal(await held(), 1);
    // Every connection through the proxy is reset: PostgreSQL ends the lock's session and frees the name.
    proxy.cut();
    await waitFor(async () => (await held()) === 0);
    proxy.restore();
    await waitFor(async () => (await held()) === 1);
    await assert.rejects(db.store({ node: 'node-a' }).open(), { code: 'LAZ_STORE_LOCKED' });
    await first.close();
    await waitFor(async () => (await held()) === 0);
  });

  it('a second live adapter under a node name in use is refused with LAZ_STORE_LOCKED; the name is free again after close()', async (t) => {
    const { pg: db, store: first } = await fresh(t);
    const second = db.store({ node: 'node-a' });
    await assert.rejects(second.open(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'LAZ_STORE_LOCKED');
      assert.match(err.message, /node name "node-a" is already in use .* by PostgreSQL backend \d+ \(lazaret node-a/);
      return true;
    });
    const other = db.store({ node: 'node-b' });
    await other.open();
    await first.close();
    await second.open();
    assert.equal(await second.schemaVersion(), NEWEST);
  });

  it('an unusable schema name is a configuration error', async () => {
    const db = freshPostgres({ missing: true });
    await assert.rejects(db.store({ schema: 'Robert"; DROP' }).open(), { code: 'LAZ_CONFIG_INVALID' });
  });

  it('a server that refuses the connection: LAZ_STORE_UNREACHABLE naming it without the password', async () => {
    const db = freshPostgres({ missing: true });
    const store = db.store({ url: 'postgres://lazaret:s3cret-pw@127.0.0.1:1/test', connectTimeoutMs: 2000 });
    assert.equal(store.describe(), `postgres://lazaret@127.0.0.1:1/test (schema ${db.schema})`);
    await assert.rejects(store.open(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'LAZ_STORE_UNREACHABLE');
      assert.match(err.message, /127\.0\.0\.1:1/);
      assert.doesNotMatch(err.message, /s3cret/);
      return true;
    });
    await store.close();
  });

  it('a login the server refuses (no such database) is LAZ_STORE_UNREACHABLE too', async () => {
    const db = freshPostgres({ missing: true });
    const url = new URL(TEST_POSTGRES_URL);
    url.pathname = '/lazaret_no_such_database';
    await assert.rejects(db.store({ url: url.toString() }).open(), { code: 'LAZ_STORE_UNREACHABLE' });
  });

  it('a statement kept waiting past statementTimeoutMs fails with LAZ_STORE_BUSY; nothing of its batch is applied', async (t) => {
    const db = freshPostgres();
    t.after(() => db.cleanup());
    const store = db.store({ statementTimeoutMs: 300 });
    await store.open();
    await store.write(batch({ insertJobs: [qjob(1), qjob(2)] }));
    const other = await lockRows(t, store, [1]);
    await assert.rejects(store.write(batch({ deleteJobs: [2, 1] })), { code: 'LAZ_STORE_BUSY' });
    await other.query('ROLLBACK');
    assert.deepEqual(ids(await store.jobsPage(0, 10)), [1, 2]);
  });

  it('a connection cut during an operation: LAZ_STORE_CONNECTION_LOST, and the next operation connects again', async (t) => {
    const { pg: db, store } = await fresh(t);
    await store.write(batch({ insertJobs: [qjob(1)] }));
    const other = await lockRows(t, store, [1]);
    // The write waits on the row lock; its backend is then terminated.
    // Awaited from the start: it may reject before the termination below has returned.
    const refused = assert.rejects(store.write(batch({ deleteJobs: [1] })), (err: Error & { code?: string; hint?: string }) => {
      assert.equal(err.code, 'LAZ_STORE_CONNECTION_LOST');
      assert.match(err.hint ?? '', /may or may not have been committed/);
      return true;
    });
    await waitFor(
      async () => (await db.sql("SELECT 1 FROM pg_stat_activity WHERE application_name = 'lazaret node-a' AND wait_event_type = 'Lock'")).length > 0,
    );
    await db.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lazaret node-a' AND wait_event_type = 'Lock'");
    await refused;
    await other.query('ROLLBACK');
    assert.equal((await store.jobGet(1))?.id, 1, 'nothing was deleted, and the store works again');
  });
});

/** Rows of the store's schema, read outside the store. */
async function pgRows(store: PostgresStore, sql: string): Promise<Record<string, unknown>[]> {
  const c = new pg.Client({ connectionString: TEST_POSTGRES_URL, options: `-c search_path=${store.schema}` });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

/** A second session holding row locks on these jobs until ROLLBACK (or the end of the test). */
async function lockRows(t: TestContext, store: PostgresStore, jobIds: number[]): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: TEST_POSTGRES_URL, options: `-c search_path=${store.schema}` });
  await c.connect();
  t.after(() => c.end());
  await c.query('BEGIN');
  await c.query('SELECT id FROM jobs WHERE id = ANY($1::bigint[]) FOR UPDATE', [jobIds]);
  return c;
}

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition not met in 5 s');
}
