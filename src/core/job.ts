// In-memory job and the interfaces through which core reaches the connections of the gearman layer.

import type { AttemptRow, JobRow, Priority, StoreState } from '../storage/types.js';
import type { TimerRef } from './clock.js';
import type { FunctionState } from './functions.js';
import type { Worker } from './worker.js';

export type JobState =
  /** Waiting for its insert to commit; not runnable yet. */
  | 'pending'
  | 'queued'
  /** Waiting for its run-at time (scheduled job or retry backoff). */
  | 'scheduled'
  | 'running'
  /** Completed, failed for good, quarantined or dropped: no longer in any index. */
  | 'done'
  /** Waits in the store only (beyond its window, or scheduled there): memory let it go. */
  | 'stored';

/** What a worker reports, forwarded to the foreground clients waiting on the job. */
export type WorkUpdate =
  | { kind: 'status'; numerator: Buffer; denominator: Buffer }
  | { kind: 'data'; data: Buffer }
  | { kind: 'warning'; data: Buffer }
  | { kind: 'complete'; data: Buffer }
  | { kind: 'fail' }
  | { kind: 'exception'; data: Buffer };

/** A foreground client connection waiting on jobs. */
export interface Waiter {
  readonly exceptions: boolean;
  deliver(job: Job, update: WorkUpdate): void;
}

/** The gearman side of a worker connection. */
export interface WorkerConn {
  readonly id: number;
  /** SET_CLIENT_ID, or the peer address. */
  readonly name: string;
  readonly address: string;
  /** The worker's process on this host (found through /proc), or null: another host, or not found yet. */
  readonly pid: number | null;
  /** That process's group (a supervised copy's pid when the worker is its child), or null. */
  readonly pgid: number | null;
  /** Epoch ms, from the engine's clock. */
  readonly connectedAt: number;
  /** Sends NOOP. */
  wake(): void;
}

export interface Job {
  readonly id: number;
  readonly handle: string;
  readonly fn: FunctionState;
  readonly unique: string;
  payload: Buffer;
  readonly priority: Priority;
  readonly submittedAt: number;
  /** When it last became runnable: the start of its queue wait. */
  queuedAt: number;
  runAt: number | null;
  deadline: number | null;
  /** Stored: a background submission created or joined it. */
  durable: boolean;
  /** Taken out of quarantine by an operator: the life it lives now joins its history when it ends. */
  requeued: boolean;
  state: JobState;
  /** Foreground clients attached to it. */
  waiters: Waiter[];
  worker: Worker | null;
  /** The attempt running now (state 'running'), or null. */
  current: AttemptRow | null;
  /** Ended attempts, oldest first. */
  history: AttemptRow[];
  /** Deliveries so far, including the current one. */
  attempts: number;
  /** Deliveries that crashed or timed out. */
  crashes: number;
  /** Times it went back to its queue after a delivery that did not complete (gearmand's retry count). */
  retries: number;
  /** The last WORK_STATUS of the running attempt (0/0 = none yet). */
  numerator: number;
  denominator: number;
  /** By convention `key:value`; set by the submitter or extracted by a tag rule (core/tags.ts). */
  tags: readonly string[];
  /** From due to the first start, ms; null until it first starts. */
  waitMs: number | null;
  /** Timeout, run-at or deadline timer. */
  timer: TimerRef | null;
  deadlineTimer: TimerRef | null;
}

/** Shared by every untagged job, so most jobs spend no memory on tags. */
export const NO_TAGS: readonly string[] = Object.freeze([]);

export function createJob(fields: Pick<Job, 'id' | 'handle' | 'fn' | 'unique' | 'payload' | 'priority' | 'submittedAt' | 'durable'>): Job {
  // Every field spelled out, in one order: an object spread here would give each job a hidden class of
  // its own, doubling its memory and slowing every access (measured: submit 5x slower).
  return {
    id: fields.id,
    handle: fields.handle,
    fn: fields.fn,
    unique: fields.unique,
    payload: fields.payload,
    priority: fields.priority,
    submittedAt: fields.submittedAt,
    durable: fields.durable,
    requeued: false,
    queuedAt: fields.submittedAt,
    runAt: null,
    deadline: null,
    state: 'pending',
    waiters: [],
    worker: null,
    current: null,
    history: [],
    attempts: 0,
    crashes: 0,
    retries: 0,
    numerator: 0,
    denominator: 0,
    tags: NO_TAGS,
    waitMs: null,
    timer: null,
    deadlineTimer: null,
  };
}

/** The stored form of a job, placed in `state`, coalescing on `coalesceKey`. */
export function jobRow(job: Job, state: StoreState, coalesceKey: string | null): JobRow {
  return {
    id: job.id,
    handle: job.handle,
    function: job.fn.name,
    unique: job.unique,
    payload: job.payload,
    priority: job.priority,
    submittedAt: job.submittedAt,
    runAt: job.runAt,
    deadline: job.deadline,
    tags: job.tags,
    state,
    coalesceKey,
    queuedAt: job.queuedAt,
  };
}
