// Storing jobs: round trips, big batches, and all-or-nothing commits.

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ErrorCode, batch, job, quarantined, rejectsWith, start, type Harness, storedJobs } from './harness.js';

export function submitTests(h: Harness): void {
  it('stores jobs and loads them back byte for byte', async (t) => {
    const store = await h.open(t);
    const jobs = [
      job(1, { payload: Buffer.from([0, 1, 2, 0, 255, 0, 0]), priority: 0, runAt: null, deadline: null }),
      job(2, { payload: Buffer.alloc(0), priority: 1, runAt: 1_800_000_000_000, deadline: 1_900_000_000_000, unique: '' }),
      job(3, { payload: Buffer.from('héllo\n\u0000wörld', 'utf8'), priority: 2, function: 'email.send', handle: 'H:node-a:3' }),
    ];
    await store.write(batch({ insertJobs: jobs }));

    const loaded = await storedJobs(store);
    assert.deepEqual(
      loaded,
      jobs.map((j) => ({ ...j, attempts: [] })),
    );
    for (const j of loaded) assert.ok(Buffer.isBuffer(j.payload), 'payloads come back as Buffers');
  });

  it('loads jobs ordered by id, whatever order they were written in', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ insertJobs: [job(5), job(2)] }));
    await store.write(batch({ insertJobs: [job(9), job(1)] }));
    assert.deepEqual(
      (await storedJobs(store)).map((j) => j.id),
      [1, 2, 5, 9],
    );
  });

  it('commits thousands of jobs in one batch', async (t) => {
    const store = await h.open(t);
    const jobs = Array.from({ length: 20_000 }, (_, i) => job(i + 1, { payload: Buffer.alloc(64, i % 256) }));
    await store.write(batch({ insertJobs: jobs, idWatermark: 20_001 }));
    const loaded = await storedJobs(store);
    assert.equal(loaded.length, 20_000);
    assert.deepEqual(loaded[0], { ...jobs[0], attempts: [] });
    assert.deepEqual(loaded[19_999], { ...jobs[19_999], attempts: [] });
  });

  it('an empty batch commits and changes nothing', async (t) => {
    const store = await h.open(t);
    await store.write(batch({}));
    assert.deepEqual(await storedJobs(store), []);
  });

  it('a batch that fails midway applies nothing and rejects with LAZ_STORE_FAILED', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ insertJobs: [job(1)] }));
    // job 1 again, after two good rows: the duplicate id fails the batch on its third row.
    await rejectsWith(store.write(batch({ insertJobs: [job(2), job(3), job(1, { function: 'other' })] })), ErrorCode.STORE_FAILED);
    assert.deepEqual(await storedJobs(store), [{ ...job(1), attempts: [] }]);
  });

  it('a failure in a later field rolls back the earlier fields too', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ insertJobs: [job(1)], quarantine: [quarantined(50)] }));
    const before = await store.idsNext();
    await rejectsWith(
      store.write(
        batch({
          insertJobs: [job(10)],
          startAttempts: [start(1, 1)],
          deleteJobs: [],
          quarantine: [quarantined(50)], // already quarantined: fails after inserts and attempts ran
          idWatermark: 1000,
        }),
      ),
      ErrorCode.STORE_FAILED,
    );
    assert.deepEqual(await storedJobs(store), [{ ...job(1), attempts: [] }]);
    assert.equal(await store.idsNext(), before);
    assert.equal(await store.quarantineCount({}), 1);
  });

  it('keeps working after a failed batch', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ insertJobs: [job(1)] }));
    await rejectsWith(store.write(batch({ insertJobs: [job(1)] })), ErrorCode.STORE_FAILED);
    await store.write(batch({ insertJobs: [job(2)] }));
    assert.deepEqual(
      (await storedJobs(store)).map((j) => j.id),
      [1, 2],
    );
  });
}
