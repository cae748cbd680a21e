// The storage contract. Core talks to storage through this interface only; every backend proves itself
// with test/storage/conformance. Methods are noun-then-verb and batch-first so group commit is the
// normal path.

import type {
  AlertRow,
  AlertUpdate,
  AuditStamp,
  HistoryEntry,
  ImpactQuery,
  ImpactRow,
  JobRow,
  OutcomeFilter,
  OutcomeRow,
  QuarantineFilter,
  QuarantinePage,
  QuarantineRow,
  QuarantineSummary,
  NewAlert,
  StoredJob,
  WriteBatch,
} from './types.js';

export interface StorageCapabilities {
  /** Several nodes may share this store. */
  shared: boolean;
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

  /** A real, tiny write (for /health): resolves when the store accepted it. */
  ping(now: number): Promise<void>;

  /** Applies one group commit in a single transaction; all or nothing. */
  write(batch: WriteBatch): Promise<void>;

  /** Every stored job with its attempts, ordered by id (submission order). */
  jobsLoad(): Promise<StoredJob[]>;
  /** The lowest id the store has never handed out (max of stored ids and the watermark, plus one). */
  idsNext(): Promise<number>;

  quarantineList(filter: QuarantineFilter, page: QuarantinePage): Promise<QuarantineSummary[]>;
  quarantineCount(filter: QuarantineFilter): Promise<number>;
  /** Entries per function name (functions without any are absent). */
  quarantineCountByFunction(): Promise<Record<string, number>>;
  quarantineGet(id: number): Promise<QuarantineRow | null>;
  /** Replaces the payload of a quarantined job; false when no such entry. With `by`, records an `edited` history entry. */
  quarantineUpdatePayload(id: number, payload: Buffer, by?: AuditStamp): Promise<boolean>;
  /**
   * Takes the matching entries out of quarantine and stores them as queued jobs with a fresh budget
   * (no attempts, runAt = now), in one transaction. Returns the new job rows. The deadline is cleared: the operator asked for this run.
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
