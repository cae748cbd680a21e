// What every conformance file shares: fresh adapters tied to the test that uses them, and row builders.

import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { ErrorCode, isLazaretError, type ErrorCodeValue } from '../../../src/errors.js';
import type { StorageAdapter } from '../../../src/storage/adapter.js';
import {
  emptyBatch,
  type AttemptEnd,
  type AttemptRow,
  type AttemptStart,
  type JobRow,
  type QuarantineRow,
  type StoredJob,
  type WriteBatch,
} from '../../../src/storage/types.js';

export interface AdapterUnderTest {
  /** Not opened yet: the suite calls open(). */
  adapter: StorageAdapter;
  /** Closes every adapter made for this storage and removes the storage. Runs even when the test failed. */
  cleanup: () => Promise<void>;
  /** Another unopened adapter over the same storage, as after a restart; omit when the backend cannot. */
  reopen?: () => Promise<StorageAdapter>;
}

export type MakeAdapter = () => Promise<AdapterUnderTest>;

export interface Harness {
  /** A fresh, opened adapter, cleaned up when `t` ends. */
  open(t: TestContext): Promise<StorageAdapter>;
  /** Same, plus `reopen`; skips the test (with the reason) when the backend cannot reopen. */
  openReopenable(t: TestContext): Promise<{ adapter: StorageAdapter; reopen: () => Promise<StorageAdapter> } | null>;
}

export function harness(makeAdapter: MakeAdapter): Harness {
  async function make(t: TestContext): Promise<AdapterUnderTest> {
    const made = await makeAdapter();
    t.after(made.cleanup);
    await made.adapter.open();
    return made;
  }
  return {
    async open(t) {
      return (await make(t)).adapter;
    },
    async openReopenable(t) {
      const made = await make(t);
      const reopen = made.reopen;
      if (reopen === undefined) {
        t.skip('this backend has no reopen() in its factory');
        return null;
      }
      return { adapter: made.adapter, reopen };
    },
  };
}

export function batch(parts: Partial<WriteBatch>): WriteBatch {
  return { ...emptyBatch(), ...parts };
}

export function job(id: number, over: Partial<JobRow> = {}): JobRow {
  return {
    id,
    handle: `H:test:${id}`,
    function: 'resize',
    unique: `u-${id}`,
    payload: Buffer.from(`payload ${id}`),
    priority: 1,
    submittedAt: 1_700_000_000_000 + id,
    runAt: null,
    deadline: null,
    tags: [],
    state: 'queued',
    coalesceKey: `u-${id}`,
    queuedAt: 1_700_000_000_000 + id,
    ...over,
  };
}

/** Every stored job with its attempts, by id: what a test reads back to check a write. */
export async function storedJobs(store: StorageAdapter): Promise<StoredJob[]> {
  const out: StoredJob[] = [];
  for (let after = 0; ; ) {
    const page = await store.jobsPage(after, 500);
    if (page.length === 0) return out;
    for (const s of page) {
      const j = await store.jobGet(s.id);
      if (j !== null) out.push(j);
    }
    after = page[page.length - 1]!.id;
  }
}

/** A requeue of an attempt's job: back in line, runnable at `runAt` (null: now). */
export function back(runAt: number | null): AttemptEnd['requeue'] {
  return { state: runAt === null ? 'queued' : 'scheduled', runAt, queuedAt: runAt ?? 1_700_000_300_000 };
}

export function start(jobId: number, n: number, over: Partial<AttemptStart> = {}): AttemptStart {
  return { jobId, n, worker: `worker-${n}`, startedAt: 1_700_000_100_000 + n * 1000, ...over };
}

export function end(jobId: number, n: number, over: Partial<AttemptEnd> = {}): AttemptEnd {
  return {
    jobId,
    n,
    endedAt: 1_700_000_100_000 + n * 1000 + 500,
    outcome: 'failed',
    error: `boom ${n}`,
    evidence: null,
    ...over,
  };
}

/** The attempt row that `start` then `end` with the same arguments leave behind. */
export function endedAttempt(jobId: number, n: number, over: Partial<AttemptEnd> = {}): AttemptRow {
  const s = start(jobId, n);
  const e = end(jobId, n, over);
  return {
    jobId,
    n,
    worker: s.worker,
    startedAt: s.startedAt,
    endedAt: e.endedAt,
    outcome: e.outcome,
    error: e.error,
    evidence: e.evidence,
  };
}

export function quarantined(id: number, over: Partial<QuarantineRow> = {}): QuarantineRow {
  const j = job(id);
  return {
    id,
    handle: j.handle,
    function: j.function,
    unique: j.unique,
    payload: j.payload,
    priority: j.priority,
    submittedAt: j.submittedAt,
    deadline: null,
    tags: j.tags,
    reason: 'max_attempts',
    detail: null,
    quarantinedAt: 1_700_000_200_000 + id,
    attempts: [endedAttempt(id, 1)],
    ...over,
  };
}

/** Asserts that `promise` rejects with a LazaretError carrying `code`. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCodeValue): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isLazaretError(err), `expected a LazaretError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

export { ErrorCode };
