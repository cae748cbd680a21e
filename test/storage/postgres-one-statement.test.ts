// The PostgreSQL store writes the usual group commit (new jobs without a coalescing key, attempt
// starts and ends, completed jobs' deletions, outcomes) as one statement instead of a transaction of
// several (src/storage/postgres/write.ts, oneStatement()). Which batches go that way, and that what they
// store is what the transaction would: read back through the adapter, on a fresh schema of the test
// server. The fence of that statement is tested with the other lease tests (postgres-lease.test.ts).

import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import pg from 'pg';
import { oneStatement, type Holder } from '../../src/storage/postgres/write.js';
import type { JobRow, OutcomeRow, QueuedIn } from '../../src/storage/types.js';
import { freshPostgres, TEST_POSTGRES_URL } from '../helpers/postgres.js';
import { eventually } from '../helpers/wait.js';
import { back, batch, end, job, start } from './conformance/harness.js';

const HOLDER: Holder = { owner: 'node-a', epoch: 1 };

/** A job with no coalescing key, held by this node (as one delivered at once) unless told otherwise. */
function plain(id: number, over: Partial<JobRow> = {}): JobRow {
  return job(id, { coalesceKey: null, state: 'held', ...over });
}

function outcome(id: number): OutcomeRow {
  return {
    id,
    handle: `H:test:${id}`,
    function: 'resize',
    unique: '',
    priority: 1,
    tags: ['user:7'],
    submittedAt: 1_700_000_000_000,
    runAt: null,
    startedAt: 1_700_000_100_000,
    finishedAt: 1_700_000_200_000,
    waitMs: 5,
    state: 'completed',
    attempts: 1,
    progress: null,
    result: Buffer.from(`result ${id}`),
  };
}

const shape = (b: Parameters<typeof oneStatement>[0]): string | null => oneStatement(b, HOLDER, 'chan')?.statement.name ?? null;

describe('postgres store: the usual group commit in one statement', () => {
  it('takes the usual batches, and leaves to the transaction those whose parts would have to see one another', () => {
    assert.equal(shape(batch({ insertJobs: [plain(1)], startAttempts: [start(1, 1)] })), 'lz_write_is');
    assert.equal(shape(batch({ insertJobs: [plain(1, { state: 'queued' })] })), 'lz_write_in', 'queued jobs are announced');
    assert.equal(shape(batch({ startAttempts: [start(2, 1)], deleteJobs: [1], outcomes: [outcome(1)] })), 'lz_write_sado');
    assert.equal(shape(batch({ endAttempts: [end(1, 1, { requeue: back(1_700_000_900_000) })] })), 'lz_write_er');
    assert.equal(shape(batch({ idWatermark: 4096 })), 'lz_write_w');
    assert.equal(shape(batch({ insertJobs: [job(1)] })), 'lz_write_ikn', 'those not inserted are named');
    assert.equal(shape(batch({})), null, 'nothing to write');
    for (const [why, b] of [
      ['a job with a coalescing key (it may not be inserted) and its first attempt', batch({ insertJobs: [job(1)], startAttempts: [start(1, 1)] })],
      ['a requeue to the shared queue (its NOTIFY names the queue)', batch({ endAttempts: [end(1, 1, { requeue: back(null) })] })],
      ['an attempt started and ended in one batch', batch({ startAttempts: [start(1, 2)], endAttempts: [end(1, 2)] })],
      ['an attempt ended and its job deleted', batch({ endAttempts: [end(1, 1)], deleteJobs: [1] })],
      ['a job inserted and deleted', batch({ insertJobs: [plain(1)], deleteJobs: [1] })],
      ['a release', batch({ releaseJobs: [1] })],
      ['late evidence', batch({ lateEvidence: [{ jobId: 1, n: 1, evidence: { exitCode: 1 } }] })],
    ] as const) {
      assert.equal(shape(b), null, why);
    }
  });

  it('stores what the transaction would: jobs and first attempts, ends and retries, completions and outcomes, announced queues', async (t: TestContext) => {
    const db = freshPostgres();
    t.after(() => db.cleanup());
    const a = db.store({ node: 'node-a' });
    const b = db.store({ node: 'node-b' });
    await a.open();
    await b.open();
    const heard: QueuedIn[][] = [];
    b.onQueued((queues) => heard.push(queues));

    // A job delivered at once (inserted held, its first attempt started) and one left queued for any node.
    const first = batch({
      insertJobs: [plain(1), plain(2, { function: 'mail', state: 'queued', priority: 0 })],
      startAttempts: [start(1, 1)],
      idWatermark: 4096,
    });
    assert.ok(oneStatement(first, a.holder, 'chan') !== null);
    assert.deepEqual(await a.write(first), { coalesced: [] });
    await eventually(() => heard.some((q) => q.some((x) => x.function === 'mail' && x.priority === 0)), 'node-b to hear of the queued mail job');
    const one = await a.jobGet(1);
    assert.equal(one?.state, 'held');
    assert.deepEqual(
      one?.attempts.map((x) => [x.n, x.worker, x.endedAt]),
      [[1, 'worker-1', null]],
    );
    assert.equal((await a.jobGet(2))?.state, 'queued');
    assert.equal((await db.sql<{ value: string }>("SELECT value FROM meta WHERE key = 'id_watermark'"))[0]?.value, '4096');

    // Its attempt fails and it waits for its retry; then it runs again and completes, its outcome kept.
    const retryAt = 1_700_000_900_000;
    await a.write(batch({ endAttempts: [end(1, 1, { requeue: back(retryAt) })] }));
    const waiting = await a.jobGet(1);
    assert.equal(waiting?.state, 'scheduled');
    assert.equal(waiting?.runAt, retryAt);
    assert.deepEqual(
      waiting?.attempts.map((x) => [x.n, x.outcome, x.error]),
      [[1, 'failed', 'boom 1']],
    );
    await a.write(batch({ startAttempts: [start(1, 2)] }));
    const done = batch({ deleteJobs: [1], outcomes: [outcome(1)] });
    assert.ok(oneStatement(done, a.holder, 'chan') !== null);
    await a.write(done);
    assert.equal(await a.jobGet(1), null, 'the completed job and its attempts are gone');
    assert.equal((await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM attempts WHERE job_id = 1'))[0]?.n, 0);
    const kept = await b.outcomesFind({ id: 1, finishedSince: 0, limit: 10 });
    assert.deepEqual(
      kept.map((o) => [o.state, o.tags, o.result?.toString()]),
      [['completed', ['user:7'], 'result 1']],
    );
  });

  it('a batch that fails stores none of its parts', async (t: TestContext) => {
    const db = freshPostgres();
    t.after(() => db.cleanup());
    const a = db.store({ node: 'node-a' });
    await a.open();
    await a.write(batch({ insertJobs: [plain(1)] }));
    // Job 3 is not stored: its attempt breaks the foreign key, and the new job 2 goes with it.
    const bad = batch({ insertJobs: [plain(2)], startAttempts: [start(3, 1)] });
    assert.ok(oneStatement(bad, a.holder, 'chan') !== null);
    await assert.rejects(a.write(bad));
    assert.equal(await a.jobGet(2), null);
    assert.equal((await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM attempts'))[0]?.n, 0);
  });

  it('new jobs that meet a stored one of their key are not inserted and name it, also one committed by another node while the statement waited for it', async (t: TestContext) => {
    const db = freshPostgres();
    t.after(() => db.cleanup());
    const a = db.store({ node: 'node-a' });
    await a.open();
    await a.write(batch({ insertJobs: [job(1)] }));
    const meet = batch({ insertJobs: [job(2, { unique: 'u-1', coalesceKey: 'u-1' }), job(3)] });
    assert.equal(oneStatement(meet, a.holder, 'chan')?.statement.name, 'lz_write_ikn');
    assert.deepEqual((await a.write(meet)).coalesced, [{ id: 2, existingId: 1, existingHandle: 'H:test:1' }]);
    assert.equal(await a.jobGet(2), null);
    assert.equal((await a.jobGet(3))?.state, 'queued');

    // Another node inserts job 4 of key u-9 and has not committed: the statement waits on the key, its
    // snapshot already taken; once the other commits, the lookup after the statement finds job 4.
    const other = new pg.Client({ connectionString: TEST_POSTGRES_URL, options: `-c search_path=${db.schema}` });
    await other.connect();
    t.after(() => other.end());
    await other.query('BEGIN');
    await other.query(
      `INSERT INTO jobs (id, handle, function, unique_key, payload, priority, submitted_at, state, seq, coalesce_key, queued_at)
       VALUES (4, 'H:other:4', 'resize', 'u-9', '', 1, 0, 'queued', nextval('job_seq'), 'u-9'::bytea, 0)`,
    );
    const waiting = a.write(batch({ insertJobs: [job(5, { unique: 'u-9', coalesceKey: 'u-9' })] }));
    const blocker = (other as unknown as { processID: number }).processID;
    await eventually(
      async () => (await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [blocker]))[0]?.n === 1,
      'the statement to wait for the other insert',
    );
    await other.query('COMMIT');
    assert.deepEqual((await waiting).coalesced, [{ id: 5, existingId: 4, existingHandle: 'H:other:4' }]);
    assert.equal(await a.jobGet(5), null);
  });
});
