// Outcomes of finished jobs and tags: written with the job's deletion, found, pruned, summed per tag.

import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { OutcomeRow } from '../../../src/storage/types.js';
import { batch, job, quarantined, start, type Harness, storedJobs } from './harness.js';

const T0 = 1_700_000_000_000;

function outcome(id: number, over: Partial<OutcomeRow> = {}): OutcomeRow {
  return {
    id,
    handle: `H:test:${id}`,
    function: 'resize',
    unique: `u-${id}`,
    priority: 1,
    tags: [],
    submittedAt: T0 + id,
    runAt: null,
    startedAt: T0 + id + 10,
    finishedAt: T0 + 1000 + id,
    waitMs: 10,
    state: 'completed',
    attempts: 1,
    progress: null,
    result: null,
    ...over,
  };
}

export function outcomesTests(h: Harness): void {
  it('keeps tags on jobs and quarantine entries, through a requeue', async (t) => {
    const store = await h.open(t);
    const tags = ['user_id:42', 'account.id:7'];
    await store.write(batch({ insertJobs: [job(1, { tags }), job(2)] }));
    assert.deepEqual(
      (await storedJobs(store)).map((j) => j.tags),
      [tags, []],
    );
    await store.write(batch({ quarantine: [quarantined(1, { tags })] }));
    assert.deepEqual((await store.quarantineGet(1))?.tags, tags);
    const [requeued] = await store.quarantineRequeue({ ids: [1] }, T0);
    assert.deepEqual(requeued?.tags, tags);
  });

  it('writes an outcome in the same transaction that deletes the job, and finds it by every field', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ insertJobs: [job(1), job(2)], startAttempts: [start(1, 1)] }));
    const done = outcome(1, { tags: ['user_id:42'], progress: { numerator: 3, denominator: 4 }, result: Buffer.from([0, 1, 2, 255]) });
    await store.write(batch({ deleteJobs: [1], outcomes: [done] }));
    assert.deepEqual(
      (await storedJobs(store)).map((j) => j.id),
      [2],
    );

    const since = T0;
    assert.deepEqual(await store.outcomesFind({ id: 1, handle: 'H:test:1', finishedSince: since, limit: 10 }), [done]);
    assert.deepEqual(await store.outcomesFind({ unique: 'u-1', finishedSince: since, limit: 10 }), [done]);
    assert.deepEqual(await store.outcomesFind({ tag: 'user_id:42', finishedSince: since, limit: 10 }), [done]);
    assert.deepEqual(await store.outcomesFind({ function: 'resize', tag: 'user_id:42', finishedSince: since, limit: 10 }), [done]);
    assert.deepEqual(await store.outcomesFind({ tag: 'user_id:4', finishedSince: since, limit: 10 }), [], 'tags match whole');
    assert.deepEqual(await store.outcomesFind({ id: 1, handle: 'H:other:1', finishedSince: since, limit: 10 }), [], 'id and handle must both match');
    assert.deepEqual(await store.outcomesFind({ id: 1, finishedSince: done.finishedAt + 1, limit: 10 }), [], 'past retention');
  });

  it('a job that finishes again replaces its outcome; a failed batch writes none', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ outcomes: [outcome(1, { state: 'quarantined' })] }));
    await store.write(batch({ outcomes: [outcome(1, { state: 'completed', attempts: 2 })] }));
    const found = await store.outcomesFind({ handle: 'H:test:1', finishedSince: 0, limit: 10 });
    assert.deepEqual(
      found.map((o) => [o.state, o.attempts]),
      [['completed', 2]],
    );
    await store.write(batch({ insertJobs: [job(5)] }));
    await assert.rejects(store.write(batch({ outcomes: [outcome(9)], insertJobs: [job(5)] })));
    assert.deepEqual(await store.outcomesFind({ handle: 'H:test:9', finishedSince: 0, limit: 10 }), []);
  });

  it('prunes rows that finished before a time, at most a batch at a time, oldest first', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ outcomes: Array.from({ length: 10 }, (_, i) => outcome(i + 1)) }));
    const cutoff = T0 + 1000 + 8; // rows 1..7 are older
    assert.equal(await store.outcomesPrune(cutoff, 5), 5);
    assert.equal(await store.outcomesPrune(cutoff, 5), 2);
    assert.equal(await store.outcomesPrune(cutoff, 5), 0);
    const left = await store.outcomesFind({ finishedSince: 0, limit: 100 });
    assert.deepEqual(
      left.map((o) => o.id),
      [10, 9, 8],
    );
  });

  it('sums outcomes per tag: jobs, waited too long, failed, expired, quarantined, worst wait', async (t) => {
    const store = await h.open(t);
    await store.write(
      batch({
        outcomes: [
          outcome(1, { tags: ['user_id:1', 'plan:pro'], waitMs: 600_000 }),
          outcome(2, { tags: ['user_id:1'], state: 'quarantined', waitMs: 5 }),
          outcome(3, { tags: ['user_id:2'], state: 'expired', waitMs: 900_000, startedAt: null }),
          outcome(4, { tags: ['user_id:3'], waitMs: 1 }),
          outcome(5, { tags: ['user_id:1'], state: 'failed', waitMs: 2, finishedAt: T0 - 1 }),
          outcome(6, { waitMs: 999_999 }),
        ],
      }),
    );
    const rows = await store.outcomesImpact({ since: T0, waitedLongerThan: 300_000, key: 'user_id' });
    const byTag = Object.fromEntries(rows.map((r) => [r.tag, r]));
    assert.deepEqual(Object.keys(byTag).sort(), ['user_id:1', 'user_id:2', 'user_id:3']);
    assert.deepEqual(byTag['user_id:1'], { tag: 'user_id:1', jobs: 2, waitedTooLong: 1, failed: 0, expired: 0, quarantined: 1, worstWaitMs: 600_000 });
    assert.deepEqual(byTag['user_id:2'], { tag: 'user_id:2', jobs: 1, waitedTooLong: 1, failed: 0, expired: 1, quarantined: 0, worstWaitMs: 900_000 });
    const all = await store.outcomesImpact({ since: 0, waitedLongerThan: 300_000 });
    assert.ok(
      all.some((r) => r.tag === 'plan:pro'),
      'without a key every tag counts',
    );
    assert.equal(all.find((r) => r.tag === 'user_id:1')?.failed, 1);
  });

  it('counts quarantine entries per function', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ quarantine: [quarantined(1), quarantined(2), quarantined(3, { function: 'email' })] }));
    assert.deepEqual(await store.quarantineCountByFunction(), { resize: 2, email: 1 });
  });
}
