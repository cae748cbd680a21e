// The storage contract. Core talks to storage through this interface only; every backend proves itself
// with test/storage/conformance. Methods are noun-then-verb and batch-first so group commit is the
// normal path.

import type { Priority } from '../domain.js';
import type {
  AlertRow,
  AlertUpdate,
  AuditStamp,
  HistoryEntry,
  ImpactQuery,
  ImpactRow,
  JobFilter,
  JobImpactQuery,
  JobImpactRow,
  DueMoved,
  Expired,
  FoundJob,
  JobCounts,
  JobRow,
  JobSummary,
  NodeInfo,
  NodeRow,
  OutcomeFilter,
  OutcomeRow,
  QuarantineFilter,
  QuarantinePage,
  QuarantineRow,
  QuarantineSummary,
  QueuedIn,
  NewAlert,
  Rescue,
  StoredJob,
  WriteBatch,
  WriteResult,
} from './types.js';

export interface StorageCapabilities {
  /**
   * Several nodes may share this store. Then the ids from each idsNext() answer on (`idBlock` of them)
   * are that caller's alone: a node takes each block of ids from there.
   */
  shared: boolean;
  /** With `shared`: how many ids from each idsNext() answer on no other caller gets. */
  idBlock?: number;
}

export interface StorageAdapter {
  readonly name: string;
  readonly capabilities: StorageCapabilities;

  /** Opens the store and applies pending migrations. */
  open(): Promise<void>;
  /** Flushes and closes; later calls reject with LAZ_STORE_CLOSED. */
  close(): Promise<void>;
  schemaVersion(): Promise<number>;
  /** Where the data lives, for logs (a file path, a URL without password). */
  describe(): string;

  /**
   * A shared store only: `listener` is called soon after any node (or anything else writing the store)
   * commits jobs left queued for whichever node takes them, with their queues (empty: any queue); the
   * engine then reads the counts at once instead of at its next poll. Best effort: a wake-up may be
   * lost (the poll covers it) or come with nothing new.
   */
  onQueued?(listener: (queues: QueuedIn[]) => void): void;

  /** A real, tiny write (for /health): resolves when the store accepted it. */
  ping(now: number): Promise<void>;

  /**
   * Applies one group commit in a single transaction; all or nothing. A new job whose coalescing key a
   * stored job of its function already has is not stored; the result names the job it met.
   */
  write(batch: WriteBatch): Promise<WriteResult>;

  // The store is the queue of record: a node holds in memory only a window of the next jobs of each
  // function and priority (state `held`) and takes more, in line, as its workers drain them.

  /**
   * At a node's start, in one transaction: its held jobs whose attempts have all ended go back to the
   * queue in the place they had (or to `scheduled` when their run-at is after `now`); jobs with an
   * attempt still open stay held and are returned with their attempts, for the node to end that attempt
   * as crashed.
   */
  recover(now: number): Promise<StoredJob[]>;
  /** Per function and priority, the stored jobs no node holds. */
  countsLoad(): Promise<JobCounts>;
  /** Takes up to `limit` queued jobs of `fn` and `priority`, first in line first, and holds them. */
  windowFill(fn: string, priority: Priority, limit: number): Promise<StoredJob[]>;
  /** Moves up to `limit` scheduled jobs due at `now` to the back of their queues, earliest run-at first. */
  dueMove(now: number, limit: number): Promise<DueMoved>;
  /** Holds up to `limit` jobs no node holds whose deadline is at or before `now`, earliest first, for the caller to quarantine. */
  deadlineTake(now: number, limit: number): Promise<Expired>;
  /** One stored job in any state, or null. */
  jobGet(id: number): Promise<StoredJob | null>;
  /** Holds one queued or scheduled job and returns it as it was (its state before); null when it is not stored or already held. */
  jobHold(id: number): Promise<StoredJob | null>;
  /**
   * Holds the queued or scheduled job of `fn` with this coalescing key (a foreground submission joins
   * it) and returns it as it was; null when the store has none, or a node already holds it.
   */
  jobHoldByKey(fn: string, key: string): Promise<StoredJob | null>;
  /** Stored jobs with an id above `afterId`, by id, without payloads. */
  jobsPage(afterId: number, limit: number): Promise<JobSummary[]>;
  /**
   * Stored jobs (any state) matching every given field, without payloads, at most `limit`. With a
   * function: in line (by priority, then held, queued, scheduled, each by place); else by id.
   */
  jobsFind(filter: JobFilter): Promise<FoundJob[]>;
  /**
   * Per tag, over the stored jobs no node holds (queued or scheduled): how many have waited and how long
   * at worst, a wait counted as the engine counts it in memory (to the first start for a job that ran,
   * else to `now` for a queued one; a scheduled job that never ran has not waited yet and is left out).
   */
  jobsImpact(query: JobImpactQuery): Promise<JobImpactRow[]>;
  /**
   * The lowest id the store has never handed out (max of stored ids and the watermark, plus one). A
   * shared store answers an id from which `capabilities.idBlock` ids are this caller's alone.
   */
  idsNext(): Promise<number>;

  quarantineList(filter: QuarantineFilter, page: QuarantinePage): Promise<QuarantineSummary[]>;
  quarantineCount(filter: QuarantineFilter): Promise<number>;
  /** Entries per function name (functions without any are absent). */
  quarantineCountByFunction(): Promise<Record<string, number>>;
  quarantineGet(id: number): Promise<QuarantineRow | null>;
  /** Replaces the payload of a quarantined job; false when no such entry. With `by`, records an `edited` history entry. */
  quarantineUpdatePayload(id: number, payload: Buffer, by?: AuditStamp): Promise<boolean>;
  /**
   * Takes the matching entries out of quarantine and stores them as queued jobs at the back of their
   * queues with a fresh budget (no attempts, runAt = now), in one transaction. Returns the new job rows.
   * An entry whose coalescing key a stored job has meanwhile is stored without one. The deadline is cleared: the operator asked for this run.
   * With `by`, each entry's ended life (reason, detail, attempts) is kept as a `requeued` history entry in that transaction.
   */
  quarantineRequeue(filter: QuarantineFilter, now: number, by?: AuditStamp): Promise<JobRow[]>;
  /** Deletes the matching entries; returns how many. With `by`, each one's life is kept as a `purged` history entry first. */
  quarantinePurge(filter: QuarantineFilter, by?: AuditStamp): Promise<number>;

  /** Finished jobs matching every given field, newest first. */
  outcomesFind(filter: OutcomeFilter): Promise<OutcomeRow[]>;
  /** Deletes up to `limit` rows that finished before `before`; returns how many. */
  outcomesPrune(before: number, limit: number): Promise<number>;
  /** Per tag, over the rows that finished since `query.since`: counts and worst wait. */
  outcomesImpact(query: ImpactQuery): Promise<ImpactRow[]>;

  /** Stores new alerts in one transaction; returns them with their ids, in the given order. */
  alertsAdd(alerts: readonly NewAlert[]): Promise<AlertRow[]>;
  /** Every stored alert, oldest (lowest id) first. */
  alertsList(): Promise<AlertRow[]>;
  /** Records a failed try; false when no such alert. */
  alertsUpdate(update: AlertUpdate): Promise<boolean>;
  /** Deletes delivered or abandoned alerts; returns how many existed. */
  alertsDelete(ids: readonly number[]): Promise<number>;

  // Nodes. A shared store holds one lease per live node (renewed by the adapter itself); a node whose
  // lease expired is dead to the others, and one of them rescues its jobs.

  /** What this node tells the others about itself, read at each renewal of its lease. */
  nodesPublish(info: () => NodeInfo): void;
  /** The nodes of the store, by name, with their leases judged by the store's clock. A store no one shares lists this node alone. */
  nodesList(): Promise<NodeRow[]>;
  /**
   * In one transaction: every other node whose lease expired before the store's clock now is removed;
   * its held jobs with no open attempt go back to the queue in their places (or to `scheduled` when
   * their run-at is after `now`), and those with an open attempt are held by the caller and returned
   * with their attempts, as recover() returns them, for the caller to end that attempt as crashed. A
   * store no one shares has nobody to rescue.
   */
  nodesRescue(now: number): Promise<Rescue>;

  /** A job's history, oldest first; empty when it has none. */
  historyFind(jobId: number): Promise<HistoryEntry[]>;
  /**
   * Deletes up to `limit` entries of jobs that are neither stored nor quarantined and whose newest entry
   * is older than `before`; returns how many.
   */
  historyPrune(before: number, limit: number): Promise<number>;
  /** Ids of stored (live) jobs that have history: requeued jobs whose current life is still running. */
  historyLiveJobs(): Promise<number[]>;
}
