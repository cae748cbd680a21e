// The SQLite storage adapter: one file, one writer. SQLite allows a single writing connection at a time
// and no sharing across hosts, so capabilities.shared is false: several Lazaret nodes need PostgreSQL.
// better-sqlite3 is synchronous; every method is still async so the interface fits a networked backend,
// and any error leaves here as a LazaretError (errors.ts).

import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import { ErrorCode, isLazaretError, LazaretError } from '../../errors.js';
import type { StorageAdapter, StorageCapabilities } from '../adapter.js';
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
  NewHistoryEntry,
  StoredJob,
  WriteBatch,
} from '../types.js';
import { prepareAlerts, type AlertOperations } from './alerts.js';
import { prepareHistory, type HistoryOperations } from './history.js';
import { IN_MEMORY, openDatabase, type SqliteSynchronous } from './connection.js';
import { toStoreError } from './errors.js';
import { commandOf, readHolder, recordHolder } from './holder.js';
import { acquireLock, type StoreLock } from './lock.js';
import { prepareIdsNext } from './ids-next.js';
import { prepareJobsLoad } from './load.js';
import { preparePing } from './ping.js';
import { migrate, migrationsDir, prepareSchemaVersion, readMigrations } from './migrate.js';
import { prepareOutcomesFind } from './outcomes-find.js';
import { prepareOutcomesImpact } from './outcomes-impact.js';
import { prepareOutcomesPrune } from './outcomes-prune.js';
import { prepareQuarantineCount } from './quarantine-count.js';
import { prepareQuarantineCountByFunction } from './quarantine-count-by-function.js';
import { StatementCache } from './quarantine-filter.js';
import { prepareQuarantineGet } from './quarantine-get.js';
import { prepareQuarantineList } from './quarantine-list.js';
import { prepareQuarantinePurge } from './quarantine-purge.js';
import { prepareQuarantineRequeue } from './quarantine-requeue.js';
import { prepareQuarantineUpdatePayload } from './quarantine-update-payload.js';
import { prepareWrite } from './write.js';

export interface SqliteStoreOptions {
  /** The database file (or ':memory:'). Its folder is created when missing. */
  path: string;
  /**
   * 'normal' (default): commits survive the process being killed. 'full': they also survive a power
   * cut or an OS crash, at the cost of an fsync per commit.
   */
  synchronous?: SqliteSynchronous;
  /**
   * How long an operation waits in total for another connection's lock before LAZ_STORE_BUSY. Default 5000.
   * The wait is asynchronous: SQLite blocks for at most busyWaitMs at a time, then the server gets on
   * with other work and the operation tries again with backoff.
   */
  busyTimeoutMs?: number;
  /** The longest single blocking wait on a lock inside SQLite (its busy_timeout). Default 25. */
  busyWaitMs?: number;
}

/** The pause between two tries on a locked database doubles from the first to the longest. */
const BUSY_PAUSE_FIRST_MS = 5;
const BUSY_PAUSE_MAX_MS = 200;

/** Every operation, with its statements prepared once when the store opens. */
interface Operations extends AlertOperations, HistoryOperations {
  schemaVersion: () => number;
  ping: (now: number) => void;
  write: (batch: WriteBatch) => void;
  jobsLoad: () => StoredJob[];
  idsNext: () => number;
  quarantineList: (filter: QuarantineFilter, page: QuarantinePage) => QuarantineSummary[];
  quarantineCount: (filter: QuarantineFilter) => number;
  quarantineCountByFunction: () => Record<string, number>;
  quarantineGet: (id: number) => QuarantineRow | null;
  quarantineUpdatePayload: (id: number, payload: Buffer, by?: AuditStamp) => boolean;
  quarantineRequeue: (filter: QuarantineFilter, now: number, by?: AuditStamp) => JobRow[];
  quarantinePurge: (filter: QuarantineFilter, by?: AuditStamp) => number;
  outcomesFind: (filter: OutcomeFilter) => OutcomeRow[];
  outcomesPrune: (before: number, limit: number) => number;
  outcomesImpact: (query: ImpactQuery) => ImpactRow[];
}

function prepareOperations(db: Database.Database): Operations {
  const cache = new StatementCache(db);
  return {
    schemaVersion: prepareSchemaVersion(db),
    ping: preparePing(db),
    write: prepareWrite(db),
    jobsLoad: prepareJobsLoad(db),
    idsNext: prepareIdsNext(db),
    quarantineList: prepareQuarantineList(cache),
    quarantineCount: prepareQuarantineCount(cache),
    quarantineCountByFunction: prepareQuarantineCountByFunction(db),
    quarantineGet: prepareQuarantineGet(db),
    quarantineUpdatePayload: prepareQuarantineUpdatePayload(db, cache),
    quarantineRequeue: prepareQuarantineRequeue(db, cache),
    quarantinePurge: prepareQuarantinePurge(db, cache),
    outcomesFind: prepareOutcomesFind(cache),
    outcomesPrune: prepareOutcomesPrune(db),
    outcomesImpact: prepareOutcomesImpact(db),
    ...prepareAlerts(db),
    ...prepareHistory(db),
  };
}

export class SqliteStore implements StorageAdapter {
  readonly name = 'sqlite';
  readonly capabilities: StorageCapabilities = { shared: false };
  readonly #path: string;
  readonly #synchronous: SqliteSynchronous;
  readonly #busyTimeoutMs: number;
  readonly #busyWaitMs: number;
  #lock: StoreLock | null = null;
  #lockCreated = false;
  #state: 'new' | 'open' | 'closed' = 'new';
  #db: Database.Database | null = null;
  #ops: Operations | null = null;

  constructor(options: SqliteStoreOptions) {
    this.#path = options.path === IN_MEMORY ? IN_MEMORY : resolve(options.path);
    this.#synchronous = options.synchronous ?? 'normal';
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.#busyWaitMs = Math.min(options.busyWaitMs ?? 25, this.#busyTimeoutMs);
  }

  /** The file name only: this shows in error bodies and the open /health, where folders are nobody's business. */
  describe(): string {
    return `sqlite:${this.#path === IN_MEMORY ? IN_MEMORY : basename(this.#path)}`;
  }

  /** The full path, for the server's own log. */
  get path(): string {
    return this.#path;
  }

  /** Opens the file and migrates it. Calling it again while open does nothing. */
  async open(): Promise<void> {
    if (this.#state === 'open') return;
    if (this.#state === 'closed') throw this.#closedError('open');
    let db: Database.Database | null = null;
    try {
      if (this.#path !== IN_MEMORY) this.#takeLock();
      // Opening may wait the whole busy timeout in one go: nothing is being served yet.
      db = openDatabase(this.#path, { synchronous: this.#synchronous, busyTimeoutMs: this.#busyTimeoutMs });
      migrate(db, readMigrations(migrationsDir()), this.describe());
      if (this.#path !== IN_MEMORY) recordHolder(db, Date.now());
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(this.#busyWaitMs))}`);
      this.#ops = prepareOperations(db);
      this.#db = db;
      this.#state = 'open';
    } catch (err) {
      db?.close();
      this.#lock?.release();
      this.#lock = null;
      // Refusing another application's file leaves nothing of ours beside it.
      if (this.#lockCreated && isLazaretError(err, ErrorCode.STORE_FOREIGN)) rmSync(`${this.#path}.lock`, { force: true });
      throw toStoreError(err, 'open', this.describe());
    }
  }

  #takeLock(): void {
    // The folder may not exist yet; openDatabase creates it, but the lock file comes first.
    mkdirSync(dirname(this.#path), { recursive: true });
    this.#lockCreated = !existsSync(`${this.#path}.lock`);
    this.#lock = acquireLock(this.#path);
    if (this.#lock !== null) return;
    const holder = readHolder(this.#path);
    const who =
      holder === null
        ? 'another process (its pid is not recorded)'
        : `pid ${holder.pid} on ${holder.host}, open since ${new Date(holder.since).toISOString()}` +
          (holder.host === hostname() ? ` (${commandOf(holder.pid) ?? 'command line unknown'})` : '');
    throw new LazaretError(ErrorCode.STORE_LOCKED, `The SQLite store ${this.describe()} is already in use by ${who}.`, {
      hint: 'One Lazaret server per database file: stop the other server, or give this one its own --db.',
    });
  }

  /** Closes the file; later calls reject with LAZ_STORE_CLOSED. Closing twice is harmless. */
  async close(): Promise<void> {
    const db = this.#db;
    this.#state = 'closed';
    this.#db = null;
    this.#ops = null;
    if (db === null) return;
    try {
      // Refreshes the statistics SQLite's planner uses, as its docs advise before closing; the limit
      // keeps that to a sample so closing a large store stays quick.
      db.pragma('analysis_limit = 400');
      db.pragma('optimize');
    } catch {
      // Statistics are an optimisation: failing to refresh them must not keep the file open.
    }
    try {
      db.close();
    } catch (err) {
      throw toStoreError(err, 'close', this.describe());
    } finally {
      this.#lock?.release();
      this.#lock = null;
    }
  }

  schemaVersion(): Promise<number> {
    return this.#run('schemaVersion', (ops) => ops.schemaVersion());
  }

  ping(now: number): Promise<void> {
    return this.#run('ping', (ops) => ops.ping(now));
  }

  write(batch: WriteBatch): Promise<void> {
    return this.#run('write', (ops) => ops.write(batch));
  }

  jobsLoad(): Promise<StoredJob[]> {
    return this.#run('jobsLoad', (ops) => ops.jobsLoad());
  }

  idsNext(): Promise<number> {
    return this.#run('idsNext', (ops) => ops.idsNext());
  }

  quarantineList(filter: QuarantineFilter, page: QuarantinePage): Promise<QuarantineSummary[]> {
    return this.#run('quarantineList', (ops) => ops.quarantineList(filter, page));
  }

  quarantineCount(filter: QuarantineFilter): Promise<number> {
    return this.#run('quarantineCount', (ops) => ops.quarantineCount(filter));
  }

  quarantineCountByFunction(): Promise<Record<string, number>> {
    return this.#run('quarantineCountByFunction', (ops) => ops.quarantineCountByFunction());
  }

  quarantineGet(id: number): Promise<QuarantineRow | null> {
    return this.#run('quarantineGet', (ops) => ops.quarantineGet(id));
  }

  quarantineUpdatePayload(id: number, payload: Buffer, by?: AuditStamp): Promise<boolean> {
    return this.#run('quarantineUpdatePayload', (ops) => ops.quarantineUpdatePayload(id, payload, by));
  }

  quarantineRequeue(filter: QuarantineFilter, now: number, by?: AuditStamp): Promise<JobRow[]> {
    return this.#run('quarantineRequeue', (ops) => ops.quarantineRequeue(filter, now, by));
  }

  quarantinePurge(filter: QuarantineFilter, by?: AuditStamp): Promise<number> {
    return this.#run('quarantinePurge', (ops) => ops.quarantinePurge(filter, by));
  }

  outcomesFind(filter: OutcomeFilter): Promise<OutcomeRow[]> {
    return this.#run('outcomesFind', (ops) => ops.outcomesFind(filter));
  }

  outcomesPrune(before: number, limit: number): Promise<number> {
    return this.#run('outcomesPrune', (ops) => ops.outcomesPrune(before, limit));
  }

  outcomesImpact(query: ImpactQuery): Promise<ImpactRow[]> {
    return this.#run('outcomesImpact', (ops) => ops.outcomesImpact(query));
  }

  alertsAdd(alerts: readonly NewAlert[]): Promise<AlertRow[]> {
    return this.#run('alertsAdd', (ops) => ops.alertsAdd(alerts));
  }

  alertsList(): Promise<AlertRow[]> {
    return this.#run('alertsList', (ops) => ops.alertsList());
  }

  alertsUpdate(update: AlertUpdate): Promise<boolean> {
    return this.#run('alertsUpdate', (ops) => ops.alertsUpdate(update));
  }

  alertsDelete(ids: readonly number[]): Promise<number> {
    return this.#run('alertsDelete', (ops) => ops.alertsDelete(ids));
  }

  historyAdd(entries: readonly NewHistoryEntry[]): Promise<void> {
    return this.#run('historyAdd', (ops) => ops.historyAdd(entries));
  }

  historyFind(jobId: number): Promise<HistoryEntry[]> {
    return this.#run('historyFind', (ops) => ops.historyFind(jobId));
  }

  historyPrune(before: number, limit: number): Promise<number> {
    return this.#run('historyPrune', (ops) => ops.historyPrune(before, limit));
  }

  // async so that a throw, ours or the driver's, reaches the caller as a rejection, never synchronously.
  // Another process holding the lock costs at most busyWaitMs of blocked event loop per try; between
  // tries the server serves others. Every operation is one transaction, so a try that met the lock
  // changed nothing and can be repeated as it is.
  async #run<T>(op: string, fn: (ops: Operations) => T): Promise<T> {
    const started = Date.now();
    let pause = BUSY_PAUSE_FIRST_MS;
    for (;;) {
      const ops = this.#ops;
      if (ops === null) throw this.#closedError(op);
      try {
        return fn(ops);
      } catch (err) {
        const failure = toStoreError(err, op, this.describe());
        const left = this.#busyTimeoutMs - (Date.now() - started);
        if (failure.code !== ErrorCode.STORE_BUSY || left <= 0) throw failure;
        await sleep(Math.min(pause, left));
        pause = Math.min(pause * 2, BUSY_PAUSE_MAX_MS);
      }
    }
  }

  #closedError(op: string): LazaretError {
    return this.#state === 'new'
      ? new LazaretError(ErrorCode.STORE_CLOSED, `${op} on the SQLite store ${this.describe()} before open(); call open() first.`)
      : new LazaretError(
          ErrorCode.STORE_CLOSED,
          `${op} on the SQLite store ${this.describe()} after close(); a closed store stays closed, create a new one.`,
        );
  }
}
