// The queue of record: a node holds windows of the next jobs and the store keeps the line. Backlogs
// larger than any window, taken in order, priorities apart, counts exact, scheduled jobs and deadlines
// moved when due, coalescing against every stored job, and a restart in the middle of it all.

import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { StorageAdapter } from '../../../src/storage/adapter.js';
import type { JobRow, Priority } from '../../../src/storage/types.js';
import { back, batch, end, job, start, type Harness } from './harness.js';

const T = 1_700_000_000_000;

/** Queued jobs ids..., of one function and priority, inserted one group commit each (in line in that order). */
async function queue(store: StorageAdapter, ids: number[], over: Partial<JobRow> = {}): Promise<void> {
  for (const id of ids) await store.write(batch({ insertJobs: [job(id, { coalesceKey: null, ...over })] }));
}

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
const ids = (rows: readonly { id: number }[]): number[] => rows.map((r) => r.id);

export function queueTests(h: Harness): void {
  it('windowFill takes the next jobs in line, holds them, and the next fill goes on after them', async (t) => {
    const store = await h.open(t);
    // Inserted out of id order: the line is the order of insertion, not of ids.
    await queue(store, [5, 3, 9, 1, 7, 2, 8]);
    const first = await store.windowFill('resize', 1, 3);
    assert.deepEqual(ids(first), [5, 3, 9]);
    assert.ok(first.every((j) => j.state === 'held' && j.attempts.length === 0));
    assert.deepEqual(first[0]!.payload, job(5).payload, 'with its payload');
    assert.deepEqual(ids(await store.windowFill('resize', 1, 3)), [1, 7, 2]);
    assert.deepEqual(ids(await store.windowFill('resize', 1, 3)), [8]);
    assert.deepEqual(await store.windowFill('resize', 1, 3), []);
    assert.deepEqual(await store.windowFill('other', 1, 3), [], 'another function has its own line');
  });

  it('each priority has its own line; counts are per function and priority, held jobs not counted', async (t) => {
    const store = await h.open(t);
    await queue(store, [1, 2, 3], { priority: 2 });
    await queue(store, [4, 5], { priority: 0 });
    await queue(store, [6], { priority: 0, function: 'mail' });
    await store.write(batch({ insertJobs: [job(7, { coalesceKey: null, state: 'scheduled', runAt: T + 5000 })] }));
    const counts = async (): Promise<string[]> =>
      (await store.countsLoad()).counts.map((c) => `${c.function}/${c.priority}: ${c.queued} queued, ${c.scheduled} scheduled`).sort();
    assert.deepEqual(await counts(), [
      'mail/0: 1 queued, 0 scheduled',
      'resize/0: 2 queued, 0 scheduled',
      'resize/1: 0 queued, 1 scheduled',
      'resize/2: 3 queued, 0 scheduled',
    ]);
    assert.deepEqual(ids(await store.windowFill('resize', 0, 10)), [4, 5]);
    assert.deepEqual(ids(await store.windowFill('resize', 2, 1)), [1]);
    assert.deepEqual(await counts(), ['mail/0: 1 queued, 0 scheduled', 'resize/1: 0 queued, 1 scheduled', 'resize/2: 2 queued, 0 scheduled']);
    const loaded = await store.countsLoad();
    assert.equal(loaded.nextRunAt, T + 5000);
    assert.equal(loaded.counts.find((c) => c.function === 'resize' && c.priority === 2)?.oldestQueuedAt, job(2).queuedAt, 'the first in line');
  });

  it('a job back in line goes to the back: after an attempt, released jobs keep their place', async (t) => {
    const store = await h.open(t);
    await queue(store, range(1, 6));
    assert.deepEqual(ids(await store.windowFill('resize', 1, 3)), [1, 2, 3]);
    // 1 ran and failed: back in line (behind 4, 5, 6); 2 and 3 are given back unstarted, in their places.
    await store.write(batch({ startAttempts: [start(1, 1)] }));
    await store.write(batch({ endAttempts: [end(1, 1, { requeue: back(null) })], releaseJobs: [2, 3] }));
    const next = await store.windowFill('resize', 1, 10);
    assert.deepEqual(ids(next), [2, 3, 4, 5, 6, 1]);
    assert.equal(next.at(-1)!.attempts.length, 1, 'with its attempts');
    // 1 fails again, then 4: each comes back with its own attempts, oldest first.
    await store.write(batch({ startAttempts: [start(1, 2), start(4, 1)] }));
    await store.write(batch({ endAttempts: [end(1, 2, { requeue: back(null) })], releaseJobs: [2, 3, 5, 6] }));
    await store.write(batch({ endAttempts: [end(4, 1, { requeue: back(null) })] }));
    const again = await store.windowFill('resize', 1, 10);
    assert.deepEqual(ids(again), [2, 3, 5, 6, 1, 4]);
    assert.deepEqual(
      again.map((j) => j.attempts.map((a) => a.n)),
      [[], [], [], [], [1, 2], [1]],
    );
  });

  it('scheduled jobs join the back of their line when due, earliest first, in batches', async (t) => {
    const store = await h.open(t);
    await queue(store, [1]);
    for (const [id, at] of [
      [2, T + 300],
      [3, T + 100],
      [4, T + 200],
      [5, T + 900],
    ] as const) {
      await store.write(batch({ insertJobs: [job(id, { coalesceKey: null, state: 'scheduled', runAt: at, queuedAt: at })] }));
    }
    assert.deepEqual(await store.dueMove(T + 50, 10), { moved: [], nextRunAt: T + 100 });
    const moved = await store.dueMove(T + 300, 2);
    assert.deepEqual(moved, { moved: [{ function: 'resize', priority: 1, n: 2 }], nextRunAt: T + 300 });
    assert.deepEqual((await store.dueMove(T + 300, 10)).nextRunAt, T + 900);
    assert.deepEqual(ids(await store.windowFill('resize', 1, 10)), [1, 3, 4, 2]);
  });

  it('jobs no node holds whose deadline passed are taken, earliest first, as they were', async (t) => {
    const store = await h.open(t);
    await queue(store, [1], { deadline: T + 100 });
    await queue(store, [2], { deadline: T + 500 });
    await store.write(batch({ insertJobs: [job(3, { coalesceKey: null, state: 'scheduled', runAt: T + 900, deadline: T + 50 })] }));
    await queue(store, [4]);
    assert.equal((await store.countsLoad()).nextDeadline, T + 50);
    const expired = await store.deadlineTake(T + 200, 10);
    assert.deepEqual(ids(expired.jobs), [3, 1]);
    assert.deepEqual(
      expired.jobs.map((j) => j.state),
      ['scheduled', 'queued'],
    );
    assert.equal(expired.nextDeadline, T + 500);
    assert.deepEqual(ids(await store.windowFill('resize', 1, 10)), [2, 4], 'taken jobs are held: no window gets them');
  });

  it('coalescing: a new job meeting a stored job of its function and key is not stored; the write names that job', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ insertJobs: [job(1, { coalesceKey: 'k' }), job(2, { coalesceKey: 'k', function: 'mail' })] }));
    // Held or not, the stored job coalesces.
    await store.windowFill('resize', 1, 10);
    const result = await store.write(batch({ insertJobs: [job(3, { coalesceKey: 'k' }), job(4, { coalesceKey: 'other' }), job(5, { coalesceKey: 'k' })] }));
    assert.deepEqual(
      [...result.coalesced].sort((a, b) => a.id - b.id),
      [
        { id: 3, existingId: 1, existingHandle: job(1).handle },
        { id: 5, existingId: 1, existingHandle: job(1).handle },
      ],
    );
    assert.equal(await store.jobGet(3), null);
    assert.equal((await store.jobGet(4))?.coalesceKey, 'other');
    // Two new jobs of one key in one batch: the second meets the first.
    const same = await store.write(batch({ insertJobs: [job(6, { coalesceKey: 'n' }), job(7, { coalesceKey: 'n' })] }));
    assert.deepEqual(same.coalesced, [{ id: 7, existingId: 6, existingHandle: job(6).handle }]);
    // Once the job is gone, its key is free.
    await store.write(batch({ deleteJobs: [1] }));
    assert.deepEqual((await store.write(batch({ insertJobs: [job(8, { coalesceKey: 'k' })] }))).coalesced, []);
  });

  it('jobHold takes one queued or scheduled job as it was; a held one is refused', async (t) => {
    const store = await h.open(t);
    await queue(store, [1, 2]);
    await store.write(batch({ insertJobs: [job(3, { coalesceKey: null, state: 'scheduled', runAt: T + 900 })] }));
    assert.equal((await store.jobHold(3))?.state, 'scheduled');
    assert.equal((await store.jobHold(2))?.state, 'queued');
    assert.equal(await store.jobHold(2), null, 'already held');
    assert.equal(await store.jobHold(99), null);
    assert.equal((await store.jobGet(2))?.state, 'held');
    assert.deepEqual(ids(await store.windowFill('resize', 1, 10)), [1]);
    assert.deepEqual(
      (await store.jobsPage(0, 10)).map((j) => [j.id, j.state]),
      [
        [1, 'held'],
        [2, 'held'],
        [3, 'held'],
      ],
    );
  });

  it('jobHoldByKey holds the queued or scheduled job of a function with that coalescing key, as it was; none held, missing or of another function', async (t) => {
    const store = await h.open(t);
    await queue(store, [1], { coalesceKey: 'k1' });
    // 1 ran once and is back in line.
    assert.deepEqual(ids(await store.windowFill('resize', 1, 10)), [1]);
    await store.write(batch({ startAttempts: [start(1, 1)] }));
    await store.write(batch({ endAttempts: [end(1, 1, { requeue: back(null) })] }));
    await queue(store, [2], { coalesceKey: 'k2', state: 'scheduled', runAt: T + 900 });
    await queue(store, [3], { coalesceKey: 'k3' });
    const held = await store.jobHoldByKey('resize', 'k1');
    assert.deepEqual([held?.id, held?.state, held?.attempts.length], [1, 'queued', 1], 'with its attempts');
    assert.deepEqual(held?.payload, job(1).payload);
    assert.equal(await store.jobHoldByKey('resize', 'k1'), null, 'already held');
    assert.equal((await store.jobHoldByKey('resize', 'k2'))?.state, 'scheduled');
    assert.equal(await store.jobHoldByKey('mail', 'k3'), null, 'another function');
    assert.equal(await store.jobHoldByKey('resize', 'nope'), null);
    assert.deepEqual(ids(await store.windowFill('resize', 1, 10)), [3]);
    assert.equal(await store.jobHoldByKey('resize', 'k3'), null, 'held by a window');
    assert.deepEqual(
      (await store.jobsPage(0, 10)).map((j) => [j.id, j.state]),
      [
        [1, 'held'],
        [2, 'held'],
        [3, 'held'],
      ],
    );
  });

  it('a restart in the middle of a refill: held jobs go back in their places, a job with an open attempt stays held and is returned', async (t) => {
    const opened = await h.openReopenable(t);
    if (opened === null) return;
    const { adapter: store, reopen } = opened;
    await queue(store, range(1, 8));
    await store.write(batch({ insertJobs: [job(20, { coalesceKey: null, priority: 0 as Priority })] }));
    assert.deepEqual(ids(await store.windowFill('resize', 1, 4)), [1, 2, 3, 4]);
    await store.write(batch({ startAttempts: [start(2, 1)] }));
    // A held job waiting on a timer in memory (a retry with clients waiting) goes back scheduled.
    await store.write(batch({ startAttempts: [start(3, 1)] }));
    await store.write(batch({ endAttempts: [end(3, 1, { requeue: { state: 'held', runAt: T + 10_000, queuedAt: T + 10_000 } })] }));
    await store.close();

    const again = await reopen();
    await again.open();
    const interrupted = await again.recover(T);
    assert.deepEqual(ids(interrupted), [2]);
    assert.equal(interrupted[0]!.attempts[0]!.endedAt, null);
    const counts = await again.countsLoad();
    assert.deepEqual(counts.counts.map((c) => [c.priority, c.queued, c.scheduled]).sort(), [
      [0, 1, 0],
      [1, 6, 1],
    ]);
    assert.deepEqual(ids(await again.windowFill('resize', 1, 10)), [1, 4, 5, 6, 7, 8]);
    assert.deepEqual(ids(await again.recover(T)), [2], 'still held, still open: a second start finds it again');
    await again.close();
  });
}
