// The queue-of-record part of the storage contract (the store holds the queue; a node keeps only a
// window of the next jobs in memory), declared here until src/storage/types.ts carries it: the names
// are the ones that file will use, so moving them there is a deletion of this file and an import change.

import type { AttemptEnd, AttemptRow, JobRow, Priority, WriteBatch } from '../types.js';

/**
 * Where a stored job is. `queued`: in the store's queue, in line by its seq, held by no node.
 * `scheduled`: waiting in the store for its run-at time. `held`: in a node's memory (its window of next
 * jobs, running, or waiting on a timer there).
 */
export type StoreState = 'queued' | 'scheduled' | 'held';

export const STORE_STATES: readonly StoreState[] = ['queued', 'scheduled', 'held'];

/** What a queued job adds to JobRow. */
export interface QueueFields {
  state: StoreState;
  /**
   * What later submissions of the same function coalesce on (the unique, or a digest of the payload
   * for `-`); null when the job takes part in no coalescing.
   */
  coalesceKey: string | null;
  /** When it last became runnable (the start of its queue wait). */
  queuedAt: number;
}

export type QueueJobRow = JobRow & QueueFields;

export interface QueueStoredJob extends QueueJobRow {
  attempts: AttemptRow[];
}

export interface Requeue {
  state: StoreState;
  /** Not runnable before this time (backoff); null = now. */
  runAt: number | null;
  queuedAt: number;
}

/** An attempt end that may send its job back to the queue. */
export type QueueAttemptEnd = AttemptEnd & { requeue?: Requeue };

/**
 * A group commit as the queue-of-record contract has it: new jobs may say where they go (default
 * `queued`, no coalescing, queued at max(submittedAt, runAt)), ends may requeue, and held jobs may be
 * released back to the store's queue keeping their place.
 */
export type QueueWriteBatch = Omit<WriteBatch, 'insertJobs' | 'endAttempts'> & {
  insertJobs: readonly (JobRow & Partial<QueueFields>)[];
  endAttempts: readonly QueueAttemptEnd[];
  releaseJobs?: readonly number[];
};

/** A new job that was not stored because a stored job of its function already has its coalescing key. */
export interface Coalesced {
  id: number;
  existingId: number;
  existingHandle: string;
}

/** What a group commit tells back. */
export interface WriteResult {
  coalesced: Coalesced[];
}

/** Stored jobs of one function and priority not held by any node. */
export interface JobCount {
  function: string;
  priority: Priority;
  queued: number;
  scheduled: number;
  /** The queued_at of the first queued job in line; null when none is queued. */
  oldestQueuedAt: number | null;
}

/** What countsLoad() reads at a node's start. */
export interface JobCounts {
  counts: JobCount[];
  /** The earliest run-at of the scheduled jobs; null when none is scheduled. */
  nextRunAt: number | null;
}

/** What dueMove() did. */
export interface DueMoved {
  /** Jobs moved from scheduled to queued, per function and priority. */
  moved: { function: string; priority: Priority; n: number }[];
  /** The earliest run-at still scheduled; null when none is. */
  nextRunAt: number | null;
}

/** A stored job without payload or attempts, for listings (`show jobs`). */
export interface JobSummary {
  id: number;
  handle: string;
  function: string;
  unique: string;
  priority: Priority;
  state: StoreState;
  tags: readonly string[];
  submittedAt: number;
  queuedAt: number;
  runAt: number | null;
  /** Attempts so far. */
  attempts: number;
}
