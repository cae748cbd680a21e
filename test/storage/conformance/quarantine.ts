// Quarantine: jobs move in with every attempt, and leave only by an operator's requeue or purge.

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { QUARANTINE_REASONS } from '../../../src/domain.js';
import type { StorageAdapter } from '../../../src/storage/adapter.js';
import type { QuarantineFilter, QuarantineReason, QuarantineRow, QuarantineSummary } from '../../../src/storage/types.js';
import { batch, end, endedAttempt, job, quarantined, start, type Harness, storedJobs, back } from './harness.js';

function summaryOf(q: QuarantineRow): QuarantineSummary {
  return {
    id: q.id,
    handle: q.handle,
    function: q.function,
    unique: q.unique,
    priority: q.priority,
    reason: q.reason,
    detail: q.detail,
    attempts: q.attempts.length,
    payloadBytes: q.payload.length,
    submittedAt: q.submittedAt,
    quarantinedAt: q.quarantinedAt,
  };
}

/** What a filter means, written plainly, to check every backend against. */
function matches(q: QuarantineRow, f: QuarantineFilter): boolean {
  return (
    (f.function === undefined || q.function === f.function) &&
    (f.reason === undefined || q.reason === f.reason) &&
    (f.since === undefined || q.quarantinedAt >= f.since) &&
    (f.before === undefined || q.quarantinedAt < f.before) &&
    (f.ids === undefined || f.ids.includes(q.id))
  );
}

const REASONS: readonly QuarantineReason[] = QUARANTINE_REASONS;

/** 30 entries over two functions and every reason; quarantinedAt is not in id order on purpose. */
function seedRows(): QuarantineRow[] {
  return Array.from({ length: 30 }, (_, i) => {
    const id = i + 1;
    return quarantined(id, {
      function: id % 3 === 0 ? 'email' : 'resize',
      reason: REASONS[id % REASONS.length] ?? 'max_attempts',
      quarantinedAt: 10_000 + ((id * 7) % 30) * 100,
      detail: id % 2 === 0 ? `detail ${id}` : null,
    });
  });
}

async function seed(store: StorageAdapter): Promise<QuarantineRow[]> {
  const rows = seedRows();
  await store.write(batch({ quarantine: rows }));
  return rows;
}

const FILTERS: QuarantineFilter[] = [
  {},
  { function: 'email' },
  { function: 'nothing-here' },
  { reason: 'max_crashes' },
  { function: 'resize', reason: 'expired' },
  { since: 11_500 },
  { before: 11_500 },
  { since: 10_500, before: 12_000 },
  { ids: [3, 4, 5, 29, 1000] },
  { ids: [] },
  { function: 'resize', since: 10_300, ids: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
];

export function quarantineTests(h: Harness): void {
  it('moves a stored job in with all its attempts; the job leaves jobsLoad', async (t) => {
    const store = await h.open(t);
    await store.write(
      batch({
        insertJobs: [job(7, { deadline: 1_800_000_000_000 }), job(8)],
        startAttempts: [start(7, 1), start(7, 2)],
        endAttempts: [end(7, 1, { outcome: 'crashed', evidence: { exitCode: 139, signal: 'SIGSEGV' } })],
      }),
    );
    const entry = quarantined(7, {
      deadline: 1_800_000_000_000,
      reason: 'max_crashes',
      detail: '2 of 2 crashes',
      attempts: [endedAttempt(7, 1, { outcome: 'crashed', evidence: { exitCode: 139, signal: 'SIGSEGV' } }), endedAttempt(7, 2, { outcome: 'crashed' })],
    });
    await store.write(batch({ endAttempts: [end(7, 2, { outcome: 'crashed' })], quarantine: [entry] }));

    assert.deepEqual(
      (await storedJobs(store)).map((j) => j.id),
      [8],
    );
    const got = await store.quarantineGet(7);
    assert.deepEqual(got, entry);
    assert.ok(Buffer.isBuffer(got?.payload));
    assert.deepEqual(await store.quarantineList({}, { limit: 10 }), [summaryOf(entry)]);
    assert.equal(await store.quarantineCount({}), 1);
  });

  it('a quarantined job leaves no attempts behind: requeued, it starts with none', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ insertJobs: [job(5), job(6)], startAttempts: [start(5, 1), start(6, 1)] }));
    // The retry starts in the batch that ends the first attempt (fields apply in order: start, then end).
    await store.write(batch({ startAttempts: [start(5, 2)], endAttempts: [end(5, 1, { requeue: back(10) })] }));
    const entry = quarantined(5, { attempts: [endedAttempt(5, 1), endedAttempt(5, 2)] });
    await store.write(batch({ endAttempts: [end(5, 2)], quarantine: [entry] }));
    await store.quarantineRequeue({ ids: [5] }, 77);
    assert.deepEqual(await storedJobs(store), [
      { ...job(5), runAt: 77, deadline: null, queuedAt: 77, attempts: [] },
      { ...job(6), attempts: [{ ...endedAttempt(6, 1), endedAt: null, outcome: null, error: null }] },
    ]);
  });

  it('takes an entry for a job it never stored (a foreground job)', async (t) => {
    const store = await h.open(t);
    const entry = quarantined(3, { payload: Buffer.from([0, 0, 7]), reason: 'expired', attempts: [] });
    await store.write(batch({ quarantine: [entry] }));
    assert.deepEqual(await store.quarantineGet(3), entry);
  });

  it('keeps attempts oldest first whatever order they came in', async (t) => {
    const store = await h.open(t);
    const attempts = [endedAttempt(4, 3), endedAttempt(4, 1), endedAttempt(4, 2)];
    await store.write(batch({ quarantine: [quarantined(4, { attempts })] }));
    assert.deepEqual(
      (await store.quarantineGet(4))?.attempts.map((a) => a.n),
      [1, 2, 3],
    );
  });

  it('quarantineGet of an unknown id is null', async (t) => {
    const store = await h.open(t);
    assert.equal(await store.quarantineGet(12345), null);
  });

  it('lists and counts by function, reason, since, before and ids, newest first', async (t) => {
    const store = await h.open(t);
    const rows = await seed(store);
    for (const filter of FILTERS) {
      const expected = rows
        .filter((q) => matches(q, filter))
        .sort((a, b) => b.id - a.id)
        .map(summaryOf);
      assert.deepEqual(await store.quarantineList(filter, { limit: 100 }), expected, `list ${JSON.stringify(filter)}`);
      assert.equal(await store.quarantineCount(filter), expected.length, `count ${JSON.stringify(filter)}`);
    }
  });

  it('pages newest first by id with beforeId, with and without a filter', async (t) => {
    const store = await h.open(t);
    const rows = await seed(store);
    for (const filter of [{}, { function: 'resize' }, { reason: 'expired' as const }]) {
      const expected = rows
        .filter((q) => matches(q, filter))
        .map((q) => q.id)
        .sort((a, b) => b - a);
      const seen: number[] = [];
      let beforeId: number | undefined;
      for (;;) {
        const page = await store.quarantineList(filter, beforeId === undefined ? { limit: 4 } : { beforeId, limit: 4 });
        if (page.length === 0) break;
        assert.ok(page.length <= 4);
        seen.push(...page.map((s) => s.id));
        beforeId = page[page.length - 1]?.id;
      }
      assert.deepEqual(seen, expected, `pages of ${JSON.stringify(filter)}`);
    }
  });

  it('a limit of 0 lists nothing', async (t) => {
    const store = await h.open(t);
    await seed(store);
    assert.deepEqual(await store.quarantineList({}, { limit: 0 }), []);
  });

  it('updates a payload; false for an unknown id', async (t) => {
    const store = await h.open(t);
    await store.write(batch({ quarantine: [quarantined(1), quarantined(2)] }));
    const fixed = Buffer.from([9, 0, 9, 0]);
    assert.equal(await store.quarantineUpdatePayload(1, fixed), true);
    assert.equal(await store.quarantineUpdatePayload(99, fixed), false);
    assert.deepEqual((await store.quarantineGet(1))?.payload, fixed);
    assert.deepEqual((await store.quarantineGet(2))?.payload, quarantined(2).payload);
    const [summary] = await store.quarantineList({ ids: [1] }, { limit: 1 });
    assert.equal(summary?.payloadBytes, 4);
  });

  it('requeues by ids: same id and handle, no attempts, no deadline, runAt = now', async (t) => {
    const store = await h.open(t);
    const entries = [1, 2, 3].map((id) => quarantined(id, { deadline: 1_750_000_000_000, priority: 0, attempts: [endedAttempt(id, 1), endedAttempt(id, 2)] }));
    await store.write(batch({ insertJobs: [job(10)], quarantine: entries }));
    await store.quarantineUpdatePayload(3, Buffer.from('fixed'));

    const now = 1_700_000_900_000;
    const requeued = await store.quarantineRequeue({ ids: [3, 1] }, now);
    const expected = [1, 3].map((id) => ({
      ...job(id, { priority: 0, runAt: now, deadline: null, queuedAt: now }),
      payload: id === 3 ? Buffer.from('fixed') : job(id).payload,
    }));
    assert.deepEqual(requeued, expected);
    assert.deepEqual(await storedJobs(store), [
      { ...expected[0]!, attempts: [] },
      { ...expected[1]!, attempts: [] },
      { ...job(10), attempts: [] },
    ]);
    assert.deepEqual(
      (await store.quarantineList({}, { limit: 10 })).map((s) => s.id),
      [2],
    );
    assert.equal(await store.quarantineGet(1), null);
  });

  it('requeues by filter and can quarantine the same job again afterwards', async (t) => {
    const store = await h.open(t);
    const rows = await seed(store);
    const requeued = await store.quarantineRequeue({ function: 'email' }, 5);
    const emailIds = rows.filter((q) => q.function === 'email').map((q) => q.id);
    assert.deepEqual(
      requeued.map((j) => j.id),
      emailIds,
    );
    assert.equal(await store.quarantineCount({ function: 'email' }), 0);
    assert.equal(await store.quarantineCount({}), rows.length - emailIds.length);
    assert.deepEqual(
      (await storedJobs(store)).map((j) => j.id),
      emailIds,
    );

    const again = quarantined(3, { function: 'email', reason: 'cancelled', attempts: [] });
    await store.write(batch({ quarantine: [again] }));
    assert.deepEqual(
      (await storedJobs(store)).map((j) => j.id),
      emailIds.filter((id) => id !== 3),
    );
    assert.deepEqual(await store.quarantineGet(3), again);
  });

  it('requeue with nothing matching returns [] and changes nothing', async (t) => {
    const store = await h.open(t);
    await seed(store);
    assert.deepEqual(await store.quarantineRequeue({ ids: [] }, 5), []);
    assert.deepEqual(await store.quarantineRequeue({ function: 'nothing-here' }, 5), []);
    assert.equal(await store.quarantineCount({}), 30);
    assert.deepEqual(await storedJobs(store), []);
  });

  it('purges by ids and by filter, returning how many went', async (t) => {
    const store = await h.open(t);
    const rows = await seed(store);
    assert.equal(await store.quarantinePurge({ ids: [] }), 0, 'an empty id list purges nothing');
    assert.equal(await store.quarantinePurge({ ids: [1, 2, 999] }), 2);
    const expired = rows.filter((q) => q.reason === 'expired' && q.id > 2).length;
    assert.equal(await store.quarantinePurge({ reason: 'expired' }), expired);
    assert.equal(await store.quarantineCount({}), 30 - 2 - expired);
    assert.equal(await store.quarantineGet(1), null);
    assert.equal(await store.quarantineCount({ reason: 'expired' }), 0);
    assert.equal(await store.quarantinePurge({}), 30 - 2 - expired);
    assert.equal(await store.quarantineCount({}), 0);
  });

  it('lists the first page of 100,000 entries quickly (timings as diagnostics)', async (t) => {
    const store = await h.open(t);
    const total = 100_000;
    const attempts = [endedAttempt(0, 1), endedAttempt(0, 2, { outcome: 'crashed' })];
    const rows = Array.from({ length: total }, (_, i) =>
      quarantined(i + 1, {
        function: `fn-${i % 50}`,
        reason: REASONS[i % REASONS.length] ?? 'max_attempts',
        quarantinedAt: 1_700_000_000_000 + i * 1000,
        payload: Buffer.alloc(200, i % 256),
        attempts: attempts.map((a) => ({ ...a, jobId: i + 1 })),
      }),
    );
    let t0 = performance.now();
    await store.write(batch({ quarantine: rows }));
    t.diagnostic(`quarantined ${total} entries in one batch: ${(performance.now() - t0).toFixed(0)} ms`);

    const cases: Array<[string, QuarantineFilter, number | undefined]> = [
      ['first page, no filter', {}, undefined],
      ['first page, function', { function: 'fn-7' }, undefined],
      ['first page, reason', { reason: 'timed_out' }, undefined],
      ['first page, function + reason', { function: 'fn-7', reason: REASONS[7 % REASONS.length]! }, undefined],
      ['first page, since (last hour)', { since: 1_700_000_000_000 + (total - 3600) * 1000 }, undefined],
      ['first page, before (oldest)', { before: 1_700_000_000_000 + 3600 * 1000 }, undefined],
      ['deep page, function', { function: 'fn-7' }, 50_000],
    ];
    for (const [label, filter, beforeId] of cases) {
      t0 = performance.now();
      const page = await store.quarantineList(filter, beforeId === undefined ? { limit: 50 } : { beforeId, limit: 50 });
      const ms = performance.now() - t0;
      assert.ok(page.length > 0, label);
      assert.ok(
        page.every((s, i) => i === 0 || s.id < page[i - 1]!.id),
        `${label}: newest first`,
      );
      t.diagnostic(`${label}: ${page.length} rows in ${ms.toFixed(2)} ms`);
    }
    t0 = performance.now();
    assert.equal(await store.quarantineCount({ function: 'fn-7' }), total / 50);
    t.diagnostic(`count, function: ${(performance.now() - t0).toFixed(2)} ms`);
    t0 = performance.now();
    assert.equal(await store.quarantineCount({}), total);
    t.diagnostic(`count, all: ${(performance.now() - t0).toFixed(2)} ms`);
  });
}
