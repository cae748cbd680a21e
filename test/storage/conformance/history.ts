// A job's history: a requeue or purge with an audit stamp keeps the entry's life in the same
// transaction, an edit is recorded without one, a batch's history rows commit with the rest of it (a
// requeued job's last life with its deletion), entries come back oldest first, and only the history of
// jobs that are gone is pruned.

import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { AuditStamp, NewHistoryEntry } from '../../../src/storage/types.js';
import { batch, endedAttempt, job, quarantined, start, type Harness } from './harness.js';

const BY: AuditStamp = { at: 1_700_000_300_000, actor: 'token', client: 'cli', peer: '10.0.0.7' };

function finished(jobId: number, at: number): NewHistoryEntry {
  return {
    jobId,
    at,
    action: 'finished',
    actor: 'server',
    client: null,
    peer: null,
    life: { end: 'completed', detail: null, endedAt: at, attempts: [endedAttempt(jobId, 1, { outcome: 'completed', error: null })] },
  };
}

export function historyTests(h: Harness): void {
  it("a requeue with a stamp keeps each entry's life; without one it records nothing", async (t) => {
    const store = await h.open(t);
    const q = quarantined(5, {
      attempts: [endedAttempt(5, 1), endedAttempt(5, 2, { outcome: 'crashed', error: null, evidence: { signal: 'SIGSEGV' } })],
      detail: 'two tries',
    });
    await store.write(batch({ quarantine: [q, quarantined(6)] }));
    await store.quarantineRequeue({ ids: [5] }, 1_700_000_400_000, BY);
    await store.quarantineRequeue({ ids: [6] }, 1_700_000_400_000);
    const history = await store.historyFind(5);
    assert.equal(history.length, 1);
    const { seq, ...rest } = history[0]!;
    assert.ok(Number.isInteger(seq));
    assert.deepEqual(rest, {
      ...BY,
      jobId: 5,
      action: 'requeued',
      life: { end: 'max_attempts', detail: 'two tries', endedAt: q.quarantinedAt, attempts: q.attempts },
    });
    assert.deepEqual(await store.historyFind(6), []);
  });

  it('a purge keeps the lives it ends; an edit is recorded without a life, and not for an unknown id', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ quarantine: [quarantined(1), quarantined(2, { function: 'other' })] }));
    assert.equal(await store.quarantineUpdatePayload(1, Buffer.from('fixed'), { ...BY, client: 'dashboard' }), true);
    assert.equal(await store.quarantineUpdatePayload(99, Buffer.from('x'), BY), false);
    assert.equal(await store.quarantinePurge({ function: 'resize' }, { ...BY, at: BY.at + 1 }), 1);
    assert.deepEqual(
      (await store.historyFind(1)).map((e) => [e.action, e.client, e.life?.end ?? null, e.life?.attempts.length ?? null]),
      [
        ['edited', 'dashboard', null, null],
        ['purged', 'cli', 'max_attempts', 1],
      ],
    );
    assert.deepEqual(await store.historyFind(2), []);
    assert.deepEqual(await store.historyFind(99), []);
  });

  it("a batch's history rows commit in its transaction: with the job's deletion, or not at all", async (t) => {
    const store = await h.open(t);
    await store.write(batch({ quarantine: [quarantined(5)] }));
    await store.quarantineRequeue({ ids: [5] }, 1_700_000_400_000, BY);
    await store.write(batch({ startAttempts: [start(5, 1)] }));
    await store.write(batch({ deleteJobs: [5], history: [finished(5, 500)] }));
    assert.deepEqual(await store.historyLiveJobs(), []);
    assert.deepEqual(
      (await store.historyFind(5)).map((e) => [e.action, e.life?.end, e.life?.attempts.map((a) => a.outcome)]),
      [
        ['requeued', 'max_attempts', ['failed']],
        ['finished', 'completed', ['completed']],
      ],
    );
    // A batch that fails (a job id taken twice) leaves no history row behind.
    await store.write(batch({ insertJobs: [job(6)] }));
    await assert.rejects(store.write(batch({ insertJobs: [job(6)], deleteJobs: [6], history: [finished(6, 600)] })));
    assert.deepEqual(await store.historyFind(6), []);
  });

  it('history rows append in order; historyPrune only takes jobs that are gone and quiet since before', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ quarantine: [quarantined(3)] }));
    await store.quarantineRequeue({ ids: [3] }, 1_700_000_400_000, { ...BY, at: 100 });
    // 3 is queued again: its history stays whatever its age.
    await store.write(batch({ history: [finished(1, 100), finished(1, 200), finished(2, 100), finished(4, 100), finished(4, 5000)] }));
    assert.deepEqual(
      (await store.historyFind(1)).map((e) => e.at),
      [100, 200],
    );
    assert.equal((await store.historyFind(1))[0]!.life!.attempts[0]!.outcome, 'completed');
    assert.equal(await store.historyPrune(1000, 500), 3, 'jobs 1 and 2; not 3 (queued), not 4 (recent)');
    assert.deepEqual(await store.historyFind(1), []);
    assert.equal((await store.historyFind(3)).length, 1);
    assert.equal((await store.historyFind(4)).length, 2);
    assert.equal(await store.historyPrune(10_000, 1), 1, 'the limit holds');
  });

  it('historyLiveJobs names the stored jobs that have history: requeued ones, not quarantined or gone ones', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ quarantine: [quarantined(7), quarantined(8), quarantined(9)] }));
    await store.quarantineRequeue({ ids: [9, 7] }, 1_700_000_400_000, BY);
    assert.equal(await store.quarantineUpdatePayload(8, Buffer.from('fixed'), BY), true);
    await store.write(batch({ history: [{ jobId: 4, at: 100, action: 'finished', actor: 'server', client: null, peer: null, life: null }] }));
    assert.deepEqual(await store.historyLiveJobs(), [7, 9]);
    await store.write(batch({ deleteJobs: [7] }));
    assert.deepEqual(await store.historyLiveJobs(), [9]);
  });

  it('history survives a reopen', async (t) => {
    const made = await h.openReopenable(t);
    if (made === null) return;
    await made.adapter.write(batch({ quarantine: [quarantined(8)] }));
    await made.adapter.quarantinePurge({ ids: [8] }, BY);
    const before = await made.adapter.historyFind(8);
    await made.adapter.close();
    const again = await made.reopen();
    await again.open();
    t.after(() => again.close());
    assert.deepEqual(await again.historyFind(8), before);
    assert.equal(before.length, 1);
  });
}
