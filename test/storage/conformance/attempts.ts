// Attempts: started before the job is sent, ended with an outcome, kept until the job leaves the store.

import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { AttemptRow } from '../../../src/storage/types.js';
import { ErrorCode, batch, end, endedAttempt, job, rejectsWith, start, type Harness, storedJobs, back } from './harness.js';

function openAttempt(jobId: number, n: number): AttemptRow {
  const s = start(jobId, n);
  return { ...s, endedAt: null, outcome: null, error: null, evidence: null };
}

export function attemptsTests(h: Harness): void {
  it('an attempt that has started and not ended loads as open', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ insertJobs: [job(1)] }));
    await store.write(batch({ startAttempts: [start(1, 1)] }));
    const [loaded] = await storedJobs(store);
    assert.deepEqual(loaded?.attempts, [openAttempt(1, 1)]);
  });

  it('records ends with outcome, error and evidence, attempts oldest first', async (t) => {
    const store = await h.open(t);
    const evidence = { exitCode: 137, signal: 'SIGKILL', stderr: 'line 1\nline 2 ✗\n', errorClass: 'OOM', message: 'killed' };
    await store.write(batch({ insertJobs: [job(1), job(2)], startAttempts: [start(1, 1), start(2, 1)] }));
    await store.write(batch({ endAttempts: [end(1, 1, { outcome: 'crashed', error: null, evidence })], startAttempts: [start(1, 2)] }));
    await store.write(batch({ endAttempts: [end(2, 1, { outcome: 'timed_out', error: 'ran past 30000 ms' })] }));

    const loaded = await storedJobs(store);
    assert.deepEqual(loaded[0]?.attempts, [endedAttempt(1, 1, { outcome: 'crashed', error: null, evidence }), openAttempt(1, 2)]);
    assert.deepEqual(loaded[1]?.attempts, [endedAttempt(2, 1, { outcome: 'timed_out', error: 'ran past 30000 ms' })]);
  });

  it('inserts, starts and ends in one batch, in field order', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ insertJobs: [job(1)], startAttempts: [start(1, 1)], endAttempts: [end(1, 1)] }));
    const [loaded] = await storedJobs(store);
    assert.deepEqual(loaded?.attempts, [endedAttempt(1, 1)]);
  });

  it('orders many attempts by number', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ insertJobs: [job(1)] }));
    for (let n = 1; n <= 12; n++) await store.write(batch({ startAttempts: [start(1, n)], endAttempts: [end(1, n)] }));
    const [loaded] = await storedJobs(store);
    assert.deepEqual(
      loaded?.attempts.map((a) => a.n),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    );
  });

  it('an end with retryAt sets the job runAt (backoff); one without leaves it', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ insertJobs: [job(1, { runAt: 5 }), job(2, { runAt: 7 })], startAttempts: [start(1, 1), start(2, 1)] }));
    await store.write(batch({ endAttempts: [end(1, 1, { requeue: back(1_700_000_500_000) }), end(2, 1)] }));
    const [one, two] = await storedJobs(store);
    assert.equal(one?.runAt, 1_700_000_500_000);
    assert.equal(two?.runAt, 7);
  });

  it('an end with retryAt null makes the job runnable now (runAt null)', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ insertJobs: [job(1, { runAt: 5 })], startAttempts: [start(1, 1)] }));
    await store.write(batch({ endAttempts: [end(1, 1, { requeue: back(null) })] }));
    const [one] = await storedJobs(store);
    assert.equal(one?.runAt, null);
  });

  it('deleteJobs removes the job and its attempts', async (t) => {
    const store = await h.open(t);
    await store.write(
      batch({
        insertJobs: [job(1), job(2)],
        startAttempts: [start(1, 1), start(1, 2), start(2, 1)],
        endAttempts: [end(1, 1)],
      }),
    );
    await store.write(batch({ endAttempts: [end(1, 2, { outcome: 'completed', error: null })], deleteJobs: [1] }));
    assert.deepEqual(await storedJobs(store), [{ ...job(2), attempts: [openAttempt(2, 1)] }]);
    // Nothing of job 1 is left behind: the same id stored again starts with no attempts.
    await store.write(batch({ insertJobs: [job(1)] }));
    assert.deepEqual((await storedJobs(store))[0], { ...job(1), attempts: [] });
  });

  it('deleting or ending what is not stored changes nothing and does not fail the batch', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ insertJobs: [job(1)], endAttempts: [end(99, 1, { requeue: back(5) })], deleteJobs: [42] }));
    assert.deepEqual(await storedJobs(store), [{ ...job(1), attempts: [] }]);
  });

  it('refuses an attempt for a job that is not stored', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ insertJobs: [job(1)] }));
    await rejectsWith(store.write(batch({ startAttempts: [start(1, 1), start(77, 1)] })), ErrorCode.STORE_FAILED);
    assert.deepEqual((await storedJobs(store))[0]?.attempts, []);
  });

  it('refuses the same attempt number twice', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ insertJobs: [job(1)], startAttempts: [start(1, 1)] }));
    await rejectsWith(store.write(batch({ startAttempts: [start(1, 1)] })), ErrorCode.STORE_FAILED);
  });

  it('refuses starting again an attempt number that has ended', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ insertJobs: [job(1)], startAttempts: [start(1, 1)] }));
    await store.write(batch({ endAttempts: [end(1, 1)] }));
    await rejectsWith(store.write(batch({ startAttempts: [start(1, 1)] })), ErrorCode.STORE_FAILED);
    assert.deepEqual((await storedJobs(store))[0]?.attempts, [endedAttempt(1, 1)]);
  });

  // Backends batch rows into multi-row statements; these sizes cross their usual chunk sizes (32, 64,
  // 100) with a remainder, in every field that carries many rows.
  it('starts and completes batches of hundreds, loading what is left with its open attempt', async (t) => {
    const store = await h.open(t);
    const ids = Array.from({ length: 150 }, (_, i) => i + 1);
    await store.write(batch({ insertJobs: ids.map((id) => job(id)) }));
    await store.write(batch({ startAttempts: ids.map((id) => start(id, 1)) }));
    const done = ids.filter((id) => id % 3 !== 0);
    await store.write(batch({ deleteJobs: done }));
    assert.deepEqual(
      await storedJobs(store),
      ids.filter((id) => id % 3 === 0).map((id) => ({ ...job(id), attempts: [openAttempt(id, 1)] })),
    );
  });

  it('a refused start deep in a large batch applies none of the batch', async (t) => {
    const store = await h.open(t);
    const ids = Array.from({ length: 150 }, (_, i) => i + 1);
    await store.write(batch({ insertJobs: ids.map((id) => job(id)) }));
    const starts = ids.map((id) => start(id, 1));
    starts.splice(130, 0, start(999, 1));
    await rejectsWith(store.write(batch({ startAttempts: starts, deleteJobs: [1, 2] })), ErrorCode.STORE_FAILED);
    const loaded = await storedJobs(store);
    assert.deepEqual(
      loaded.map((j) => j.id),
      ids,
    );
    assert.ok(loaded.every((j) => j.attempts.length === 0));
  });
}
