// Row types shared by core and every storage adapter. Storage never imports core; core imports these.

import type { AttemptOutcome, Evidence, Priority, QuarantineReason } from '../domain.js';

// The shared vocabulary lives in src/domain.ts; re-exported so storage code reads one module.
export type { AttemptOutcome, Evidence, Priority, QuarantineReason };

/**
 * Where a stored job is. `queued`: in the store's queue, in line by its `seq`, held by no node.
 * `scheduled`: waiting in the store for its run-at time. `held`: in a node's memory (its window of next
 * jobs, running, or waiting on a timer there).
 */
export type StoreState = 'queued' | 'scheduled' | 'held';

/** A durable job as stored. Times are milliseconds since the Unix epoch. */
export interface JobRow {
  id: number;
  handle: string;
  function: string;
  unique: string;
  payload: Buffer;
  priority: Priority;
  submittedAt: number;
  /** Not runnable before this time (scheduled jobs, backoff); null = now. */
  runAt: number | null;
  /** Never started after this time; null = no deadline. */
  deadline: number | null;
  /** By convention `key:value`, e.g. `user_id:42`; empty for most jobs. */
  tags: readonly string[];
  state: StoreState;
  /**
   * What later submissions of the same function coalesce on (the unique, or a digest of the payload
   * for `-`); null when the job takes part in no coalescing. At most one stored job of a function has a
   * given key: an insert that meets one is not stored, and the write reports the job it met.
   */
  coalesceKey: string | null;
  /** When it last became runnable (the start of its queue wait). */
  queuedAt: number;
}

export interface AttemptRow {
  jobId: number;
  /** 1-based attempt number. */
  n: number;
  worker: string;
  startedAt: number;
  endedAt: number | null;
  outcome: AttemptOutcome | null;
  error: string | null;
  evidence: Evidence | null;
}

/** A stored job with its attempts, as read back after a restart. */
export interface StoredJob extends JobRow {
  attempts: AttemptRow[];
}

export interface AttemptStart {
  jobId: number;
  n: number;
  worker: string;
  startedAt: number;
}

export interface AttemptEnd {
  jobId: number;
  n: number;
  endedAt: number;
  outcome: AttemptOutcome;
  error: string | null;
  evidence: Evidence | null;
  /**
   * The worker's name as known at the end (a same-host worker is named by its pid once its process is
   * found, which may be after the attempt started); absent: as stored at the start.
   */
  worker?: string;
  /** When the job goes back to its queue: where it waits now (a new place at the back of the line). */
  requeue?: Requeue;
}

export interface Requeue {
  state: StoreState;
  /** Not runnable before this time (backoff); null = now. */
  runAt: number | null;
  queuedAt: number;
}

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
  /** The earliest deadline of the jobs no node holds; null when none has one. */
  nextDeadline: number | null;
}

/** What deadlineTake() did. */
export interface Expired {
  /** Jobs whose deadline passed, now held by the caller, as they were (their state before). */
  jobs: StoredJob[];
  /** The earliest deadline still waiting; null when none is. */
  nextDeadline: number | null;
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

/** A stored job as jobsFind() lists it: its summary, its deadline and when it first started. */
export interface FoundJob extends JobSummary {
  deadline: number | null;
  /** When its first attempt started; null if it never ran. */
  startedAt: number | null;
}

/** Which stored jobs jobsFind() returns: every given field must match. */
export interface JobFilter {
  function?: string;
  /** A non-empty unique (jobs without one never match). */
  unique?: string;
  /** A whole tag, e.g. `user_id:42`. */
  tag?: string;
  limit: number;
}

/** What jobsImpact() counts: the stored jobs no node holds, as they wait now. */
export interface JobImpactQuery {
  now: number;
  /** A wait above this counts as waited too long, ms. */
  waitedLongerThan: number;
  /** Only tags of this key (`user_id` matches `user_id:*`); absent = every tag. */
  key?: string;
}

/** Per tag: the stored jobs no node holds that have waited (queued ones, and ones that ran before). */
export interface JobImpactRow {
  tag: string;
  jobs: number;
  waitedTooLong: number;
  worstWaitMs: number;
}

export interface QuarantineRow {
  /** The job's id; also the quarantine entry's id. */
  id: number;
  handle: string;
  function: string;
  unique: string;
  payload: Buffer;
  priority: Priority;
  submittedAt: number;
  deadline: number | null;
  tags: readonly string[];
  reason: QuarantineReason;
  detail: string | null;
  quarantinedAt: number;
  /** Every attempt, oldest first, ended. */
  attempts: AttemptRow[];
}

/** Everything one group commit changes; applied in one transaction, in field order. */
export interface WriteBatch {
  insertJobs: JobRow[];
  startAttempts: AttemptStart[];
  endAttempts: AttemptEnd[];
  /** Stored jobs that go back to the store's queue (state `queued`) from this node's memory, keeping their place in line. */
  releaseJobs: number[];
  /** Durable jobs moved to quarantine (the job row and its attempts are removed). */
  quarantine: QuarantineRow[];
  /** Completed durable jobs: the row and its attempts are removed. */
  deleteJobs: number[];
  /** Finished jobs kept for the results retention (an existing row of the same id is replaced). */
  outcomes: OutcomeRow[];
  /** Job ids below this are taken; the store never hands them out again. */
  idWatermark: number | null;
  /**
   * Evidence that arrived after its attempt ended (a stuck worker's death), merged into the attempt
   * wherever it is stored now: the job's attempts or its quarantine entry.
   */
  lateEvidence: LateEvidence[];
  /**
   * The life a requeued job just finished (its attempts are deleted with it), kept in its history in the
   * same transaction as the job's deletion.
   */
  history: NewHistoryEntry[];
}

export interface LateEvidence {
  jobId: number;
  n: number;
  evidence: Evidence;
}

export function emptyBatch(): WriteBatch {
  return {
    insertJobs: [],
    startAttempts: [],
    endAttempts: [],
    releaseJobs: [],
    quarantine: [],
    deleteJobs: [],
    outcomes: [],
    lateEvidence: [],
    history: [],
    idWatermark: null,
  };
}

export function batchSize(b: WriteBatch): number {
  return (
    b.insertJobs.length +
    b.startAttempts.length +
    b.endAttempts.length +
    b.releaseJobs.length +
    b.quarantine.length +
    b.deleteJobs.length +
    b.outcomes.length +
    b.lateEvidence.length +
    b.history.length +
    (b.idWatermark === null ? 0 : 1)
  );
}

export interface QuarantineFilter {
  function?: string;
  reason?: QuarantineReason;
  /** Quarantined at or after this time. */
  since?: number;
  /** Quarantined before this time. */
  before?: number;
  ids?: number[];
}

export interface QuarantinePage {
  /** Entries with an id below this (newest first paging); omit for the first page. */
  beforeId?: number;
  limit: number;
}

/** A quarantine entry without payload and attempts, for listings. */
export interface QuarantineSummary {
  id: number;
  handle: string;
  function: string;
  unique: string;
  priority: Priority;
  reason: QuarantineReason;
  detail: string | null;
  attempts: number;
  payloadBytes: number;
  submittedAt: number;
  quarantinedAt: number;
}

/** How a job ended, as the results API and the impact report see it. */
export type OutcomeState = 'completed' | 'failed' | 'expired' | 'quarantined';

/** A finished job, kept for `results.retention` after it ended. */
export interface OutcomeRow {
  /** The job's id (a requeued job that finishes again replaces its earlier row). */
  id: number;
  handle: string;
  function: string;
  unique: string;
  priority: Priority;
  tags: readonly string[];
  submittedAt: number;
  runAt: number | null;
  /** When its first attempt started; null if it never ran. */
  startedAt: number | null;
  finishedAt: number;
  /** Time from due (max of submitted and run-at) to the first start, or to the end if it never ran. */
  waitMs: number;
  state: OutcomeState;
  attempts: number;
  /** The last WORK_STATUS; null when the worker never sent one. */
  progress: { numerator: number; denominator: number } | null;
  /** WORK_COMPLETE data of a completed job; null otherwise. */
  result: Buffer | null;
}

export interface OutcomeFilter {
  /** The job's id; with `handle`, the row must have both. */
  id?: number;
  handle?: string;
  unique?: string;
  function?: string;
  /** A whole tag, e.g. `user_id:42`. */
  tag?: string;
  /** Only rows that finished at or after this time (older ones are past their retention). */
  finishedSince: number;
  limit: number;
}

export interface ImpactQuery {
  /** Rows that finished at or after this time. */
  since: number;
  /** A wait above this counts as waited too long, ms. */
  waitedLongerThan: number;
  /** Only tags of this key (`user_id` matches `user_id:*`); absent = every tag. */
  key?: string;
}

/** Per tag: how its jobs fared. */
export interface ImpactRow {
  tag: string;
  jobs: number;
  waitedTooLong: number;
  failed: number;
  expired: number;
  quarantined: number;
  worstWaitMs: number;
}

/** A webhook alert waiting for its receiver (the outbox); deleted once delivered or given up. */
export interface AlertRow {
  id: number;
  /** The webhook's URL, as configured. */
  hook: string;
  event: string;
  /** The X-Lazaret-Delivery id; the same on every try, so a receiver can drop a duplicate. */
  delivery: string;
  /** The exact JSON body sent. */
  body: string;
  createdAt: number;
  /** Tries so far. */
  attempts: number;
  /** Not tried again before this time. */
  nextAt: number;
  /** When the first try failed; null until one did. */
  failingSince: number | null;
  lastError: string | null;
}

export type NewAlert = Pick<AlertRow, 'hook' | 'event' | 'delivery' | 'body' | 'createdAt' | 'nextAt'>;

export type AlertUpdate = Pick<AlertRow, 'id' | 'attempts' | 'nextAt' | 'failingSince' | 'lastError'>;

export type HistoryAction = 'requeued' | 'edited' | 'purged' | 'finished';

/**
 * Who changed a job: a request with a valid token, a trusted loopback peer, a peer let in because no
 * token is configured (`anonymous`), or the node itself.
 */
export interface AuditStamp {
  at: number;
  actor: 'token' | 'loopback' | 'anonymous' | 'server';
  /** What the asker said it was (`cli`, `dashboard`), else null. */
  client: string | null;
  /** The asker's address; null for the node itself. */
  peer: string | null;
}

/** One life of a job, from its submission or requeue to its quarantine, purge or end. */
export interface JobLife {
  /** How it ended: a quarantine reason, or the finished state (`completed`, `failed`, ...). */
  end: string;
  detail: string | null;
  endedAt: number;
  /** Oldest first. */
  attempts: AttemptRow[];
}

export interface HistoryEntry extends AuditStamp {
  seq: number;
  jobId: number;
  action: HistoryAction;
  /** The life that ended with this action (requeued, purged, finished); null for an edit. */
  life: JobLife | null;
}

export type NewHistoryEntry = Omit<HistoryEntry, 'seq'>;

/** A queue where jobs were left waiting for any node (a shared store's wake-ups): a function and a priority. */
export interface QueuedIn {
  function: string;
  priority: Priority;
}

/** What a node publishes about itself in the store at each lease renewal (kept small). */
export interface NodeInfo {
  /** Where its Gearman door listens (host:port; the plain one beside TLS too). */
  gearman: string[];
  /** Its HTTP API's URL; null when off. */
  http: string | null;
  version: string;
  /** Connected workers per function they can do. */
  workers: Record<string, number>;
  /** Connected workers that can do some function, each once (one of several functions counts in each above). */
  workersTotal: number;
  /** Jobs it holds in memory (its windows, running, timers). */
  jobsHeld: number;
}

/** A node of the store, as nodesList() reads it. Times are the store's clock (ms). */
export interface NodeRow {
  name: string;
  epoch: number;
  startedAt: number;
  renewedAt: number;
  /** null: a store only one node uses (SQLite), where no lease is held. */
  expiresAt: number | null;
  /** The store's clock when it was read: leaseAgeMs = now - renewedAt. */
  now: number;
  info: NodeInfo;
}

/** What nodesRescue() did, in one transaction. */
export interface Rescue {
  /**
   * The nodes whose lease had expired, now gone from the store, with how long before the rescue their
   * lease was last renewed (null for a node that held jobs without any lease row).
   */
  nodes: { name: string; epoch: number | null; renewedAgoMs: number | null }[];
  /** Their held jobs with no attempt running: back in the store's queue (or scheduled) in their places. */
  requeued: number;
  /**
   * Their jobs with an attempt still open, now held by the caller, each with its attempts and the node
   * it was running on, for the caller to end that attempt as crashed.
   */
  taken: { node: string; job: StoredJob }[];
}
