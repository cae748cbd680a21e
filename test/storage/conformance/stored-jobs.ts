// Stored jobs as the jobs API and the impact report read them: jobsFind() by function, unique and tag
// (any state, bounded), and jobsImpact() per tag over the jobs no node holds.

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { back, batch, end, job, start, type Harness } from './harness.js';

const T0 = 1_700_000_000_000;

export function storedJobsTests(h: Harness): void {
  it('jobsFind: by function in line (held, queued, scheduled), by unique, by tag, every field together, bounded', async (t) => {
    const store = await h.open(t);
    await store.write(
      batch({
        insertJobs: [
          job(1, { function: 'resize', tags: ['user_id:42', 'plan:pro'], state: 'held' }),
          job(2, { function: 'resize', tags: ['user_id:42'] }),
          job(3, { function: 'resize', tags: ['user_id:7'], state: 'scheduled', runAt: T0 + 10_000_000 }),
          job(4, { function: 'email', tags: ['user_id:42'], unique: 'same', coalesceKey: 'same' }),
          job(5, { function: 'resize', unique: 'same', coalesceKey: 'same' }),
          job(6, { function: 'resize', priority: 0 }),
          job(7, { function: 'resize', unique: '', coalesceKey: null, tags: ['a_b%c'] }),
          job(8, { function: 'resize', unique: '', coalesceKey: null, tags: ['axbyc'] }),
        ],
      }),
    );
    const ids = async (filter: Parameters<typeof store.jobsFind>[0]): Promise<number[]> => (await store.jobsFind(filter)).map((j) => j.id);
    // High priority first, then each priority in line: held ones (first), queued, scheduled.
    assert.deepEqual(await ids({ function: 'resize', limit: 100 }), [6, 1, 2, 5, 7, 8, 3]);
    assert.deepEqual(await ids({ function: 'resize', limit: 2 }), [6, 1]);
    assert.deepEqual(await ids({ unique: 'same', limit: 100 }), [4, 5]);
    assert.deepEqual(await ids({ unique: 'same', function: 'email', limit: 100 }), [4]);
    assert.deepEqual(await ids({ unique: '', limit: 100 }), [], 'no unique is not a unique');
    assert.deepEqual(await ids({ tag: 'user_id:42', limit: 100 }), [1, 2, 4]);
    assert.deepEqual(await ids({ tag: 'user_id:42', function: 'resize', limit: 100 }), [1, 2]);
    assert.deepEqual(await ids({ tag: 'user_id:4', limit: 100 }), [], 'whole tags only');
    assert.deepEqual(await ids({ tag: 'a_b%c', limit: 100 }), [7], 'LIKE wildcards in a tag are plain characters');
    assert.deepEqual(await ids({ tag: 'user_id:42', limit: 1 }), [1]);
    assert.deepEqual(await ids({ limit: 3 }), [1, 2, 3], 'no field: by id');
    assert.deepEqual(await ids({ function: 'nothing', limit: 100 }), []);

    const [summary] = await store.jobsFind({ tag: 'user_id:7', limit: 10 });
    assert.deepEqual(summary, {
      id: 3,
      handle: 'H:test:3',
      function: 'resize',
      unique: 'u-3',
      priority: 1,
      state: 'scheduled',
      tags: ['user_id:7'],
      submittedAt: T0 + 3,
      queuedAt: T0 + 3,
      runAt: T0 + 10_000_000,
      attempts: 0,
      deadline: null,
      startedAt: null,
    });
  });

  it('jobsFind: attempts so far, and a job gone from the store is gone from the answer', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ insertJobs: [job(1, { state: 'held' }), job(2)] }));
    await store.write(batch({ startAttempts: [start(1, 1)] }));
    await store.write(batch({ endAttempts: [end(1, 1, { requeue: back(null) })] }));
    assert.deepEqual(
      (await store.jobsFind({ function: 'resize', limit: 10 })).map((j) => [j.id, j.state, j.attempts, j.startedAt]),
      [
        [2, 'queued', 0, null],
        [1, 'queued', 1, start(1, 1).startedAt],
      ],
      'a requeued job waits at the back of the line',
    );
    await store.write(batch({ deleteJobs: [2] }));
    assert.deepEqual(
      (await store.jobsFind({ function: 'resize', limit: 10 })).map((j) => j.id),
      [1],
    );
  });

  it('jobsImpact: per tag over queued and scheduled jobs (not held ones), waits as the engine counts them', async (t) => {
    const store = await h.open(t);
    const now = T0 + 1_000_000;
    await store.write(
      batch({
        insertJobs: [
          // Queued, waiting since submission: 1_000_000 - 1 and 1_000_000 - 2.
          job(1, { tags: ['user_id:42', 'plan:pro'] }),
          job(2, { tags: ['user_id:42'] }),
          // Held: memory counts it, the store does not.
          job(3, { tags: ['user_id:42'], state: 'held' }),
          // Scheduled and never ran: has not waited yet.
          job(4, { tags: ['user_id:7'], state: 'scheduled', runAt: now + 60_000 }),
          // Scheduled for a retry: it waited until its first start.
          job(5, { tags: ['user_id:9'], state: 'held' }),
          // No tags: not in the report.
          job(6),
        ],
      }),
    );
    await store.write(batch({ startAttempts: [start(5, 1, { startedAt: T0 + 5 + 250 })] }));
    await store.write(batch({ endAttempts: [end(5, 1, { requeue: back(now + 30_000) })] }));

    const rows = await store.jobsImpact({ now, waitedLongerThan: 999_998 });
    const byTag = new Map(rows.map((r) => [r.tag, r]));
    assert.deepEqual([...byTag.keys()].sort(), ['plan:pro', 'user_id:42', 'user_id:9']);
    assert.deepEqual(byTag.get('user_id:42'), { tag: 'user_id:42', jobs: 2, waitedTooLong: 1, worstWaitMs: 999_999 });
    assert.deepEqual(byTag.get('plan:pro'), { tag: 'plan:pro', jobs: 1, waitedTooLong: 1, worstWaitMs: 999_999 });
    // Its run-at is now the retry's: the wait to the first start is approximate, as in memory (never below 0).
    assert.deepEqual(byTag.get('user_id:9'), { tag: 'user_id:9', jobs: 1, waitedTooLong: 0, worstWaitMs: 0 });

    assert.deepEqual(
      (await store.jobsImpact({ now, waitedLongerThan: 0, key: 'plan' })).map((r) => r.tag),
      ['plan:pro'],
    );
    assert.deepEqual(await store.jobsImpact({ now, waitedLongerThan: 0, key: 'user%' }), [], 'the key is taken literally');
  });
}
