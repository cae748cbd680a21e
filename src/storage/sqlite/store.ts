// The SQLite storage adapter: one file, one writer. SQLite allows a single writing connection at a time
// and no sharing across hosts, so capabilities.shared is false: several Lazaret nodes need PostgreSQL.
//
// better-sqlite3 is synchronous, so the connection lives in a thread of its own (thread.ts, owner.ts)
// and this class only forwards: each method posts its name and arguments and resolves with the reply.
// Commits, checkpoints and listings never run on the event loop. Requests are answered in the order
// they were made; group commit (core/commit.ts) keeps at most one write in flight and fills the next
// meanwhile. Errors cross the thread as LazaretErrors with their code and hint (wire.ts); a thread that
// dies fails what was waiting on it and everything after with LAZ_STORE_FAILED.

import { resolve as resolvePath } from 'node:path';
import { basename } from 'node:path';
import { hostname } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { ErrorCode, LazaretError } from '../../errors.js';
import type { StorageAdapter, StorageCapabilities } from '../adapter.js';
import type {
  AlertRow,
  AlertUpdate,
  AuditStamp,
  HistoryEntry,
  ImpactQuery,
  ImpactRow,
  FoundJob,
  JobFilter,
  JobImpactQuery,
  JobImpactRow,
  JobRow,
  NewAlert,
  OutcomeFilter,
  OutcomeRow,
  QuarantineFilter,
  QuarantinePage,
  QuarantineRow,
  QuarantineSummary,
  NodeInfo,
  NodeRow,
  Rescue,
  StoredJob,
  WriteBatch,
  WriteResult,
  DueMoved,
  Expired,
  JobCounts,
  JobSummary,
  Priority,
} from '../types.js';
import { IN_MEMORY, type SqliteSynchronous } from './connection.js';
import type { OperationName } from './operations.js';
import { startThread } from './thread-start.js';
import { errorFromWire, pack, unpack, type Reply } from './wire.js';

export interface SqliteStoreOptions {
  /** The database file (or ':memory:'). Its folder is created when missing. */
  path: string;
  /**
   * 'full' (default): the WAL is fsynced at every group commit, so acknowledged jobs survive a power
   * cut or an OS crash. 'normal': they survive the process being killed, but a power cut can lose the
   * commits since the last checkpoint.
   */
  synchronous?: SqliteSynchronous;
  /**
   * How long an operation waits in total for another connection's lock before LAZ_STORE_BUSY. Default 5000.
   * The wait happens in the store's thread; the event loop serves others meanwhile.
   */
  busyTimeoutMs?: number;
  /** The longest single blocking wait on a lock inside SQLite (its busy_timeout). Default 25. */
  busyWaitMs?: number;
  /** WAL frames (pages) after which a checkpoint runs between commits. Default 1000. */
  checkpointPages?: number;
  /** This node's name in nodesList(). Default: the host name. */
  node?: string;
}

interface Pending {
  op: string;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type State = 'new' | 'opening' | 'open' | 'closed' | 'failed';

export class SqliteStore implements StorageAdapter {
  readonly name = 'sqlite';
  readonly capabilities: StorageCapabilities = { shared: false };
  readonly #path: string;
  readonly #synchronous: SqliteSynchronous;
  readonly #busyTimeoutMs: number;
  readonly #busyWaitMs: number;
  readonly #checkpointPages: number | undefined;
  #state: State = 'new';
  #thread: Worker | null = null;
  #exited: Promise<void> = Promise.resolve();
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  /** Why the thread stopped when it was not asked to. */
  #failure: string | null = null;
  readonly #node: string;
  #openedAt = 0;
  #info: (() => NodeInfo) | null = null;

  constructor(options: SqliteStoreOptions) {
    this.#path = options.path === IN_MEMORY ? IN_MEMORY : resolvePath(options.path);
    this.#synchronous = options.synchronous ?? 'full';
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.#busyWaitMs = Math.min(options.busyWaitMs ?? 25, this.#busyTimeoutMs);
    this.#checkpointPages = options.checkpointPages;
    this.#node = options.node ?? hostname();
  }

  /** The file name only: this shows in error bodies and the open /health, where folders are nobody's business. */
  describe(): string {
    return `sqlite:${this.#path === IN_MEMORY ? IN_MEMORY : basename(this.#path)}`;
  }

  /** The full path, for the server's own log. */
  get path(): string {
    return this.#path;
  }

  /** Starts the thread, which opens the file and migrates it. Calling it again while open does nothing. */
  async open(): Promise<void> {
    if (this.#state === 'open') return;
    if (this.#state === 'closed' || this.#state === 'failed') throw this.#unusable('open');
    if (this.#state === 'opening') throw new LazaretError(ErrorCode.STORE_FAILED, `open() on the SQLite store ${this.describe()} while it is opening.`);
    this.#state = 'opening';
    this.#failure = null;
    this.#startThread();
    try {
      await this.#send('open', []);
      this.#state = 'open';
      this.#openedAt = Date.now();
    } catch (err) {
      // A store that failed to open can be opened again, as before the thread existed.
      await this.#stopThread();
      // Unless close() came meanwhile: a closed store stays closed.
      if (this.#state === 'opening') this.#state = 'new';
      throw err;
    }
  }

  /** Answers what was asked before, closes the file, ends the thread; later calls reject with LAZ_STORE_CLOSED. Closing twice is harmless. */
  async close(): Promise<void> {
    const was = this.#state;
    this.#state = 'closed';
    if (was !== 'open') {
      await this.#stopThread();
      return;
    }
    try {
      await this.#send('close', []);
    } finally {
      await this.#stopThread();
    }
  }

  /** For tests: stops the thread the way a crash would, with whatever is waiting on it. */
  async crashThreadForTest(): Promise<void> {
    await this.#thread?.terminate();
    await this.#exited;
  }

  schemaVersion(): Promise<number> {
    return this.#call('schemaVersion', []);
  }

  ping(now: number): Promise<void> {
    return this.#call('ping', [now]);
  }

  write(batch: WriteBatch): Promise<WriteResult> {
    return this.#call('write', [batch]);
  }

  recover(now: number): Promise<StoredJob[]> {
    return this.#call('recover', [now]);
  }

  countsLoad(): Promise<JobCounts> {
    return this.#call('countsLoad', []);
  }

  windowFill(fn: string, priority: Priority, limit: number): Promise<StoredJob[]> {
    return this.#call('windowFill', [fn, priority, limit]);
  }

  dueMove(now: number, limit: number): Promise<DueMoved> {
    return this.#call('dueMove', [now, limit]);
  }

  deadlineTake(now: number, limit: number): Promise<Expired> {
    return this.#call('deadlineTake', [now, limit]);
  }

  jobGet(id: number): Promise<StoredJob | null> {
    return this.#call('jobGet', [id]);
  }

  jobHold(id: number): Promise<StoredJob | null> {
    return this.#call('jobHold', [id]);
  }

  jobHoldByKey(fn: string, key: string): Promise<StoredJob | null> {
    return this.#call('jobHoldByKey', [fn, key]);
  }

  jobsPage(afterId: number, limit: number): Promise<JobSummary[]> {
    return this.#call('jobsPage', [afterId, limit]);
  }

  jobsFind(filter: JobFilter): Promise<FoundJob[]> {
    return this.#call('jobsFind', [filter]);
  }

  jobsImpact(query: JobImpactQuery): Promise<JobImpactRow[]> {
    return this.#call('jobsImpact', [query]);
  }

  idsNext(): Promise<number> {
    return this.#call('idsNext', []);
  }

  quarantineList(filter: QuarantineFilter, page: QuarantinePage): Promise<QuarantineSummary[]> {
    return this.#call('quarantineList', [filter, page]);
  }

  quarantineCount(filter: QuarantineFilter): Promise<number> {
    return this.#call('quarantineCount', [filter]);
  }

  quarantineCountByFunction(): Promise<Record<string, number>> {
    return this.#call('quarantineCountByFunction', []);
  }

  quarantineGet(id: number): Promise<QuarantineRow | null> {
    return this.#call('quarantineGet', [id]);
  }

  quarantineUpdatePayload(id: number, payload: Buffer, by?: AuditStamp): Promise<boolean> {
    return this.#call('quarantineUpdatePayload', [id, payload, by]);
  }

  quarantineRequeue(filter: QuarantineFilter, now: number, by?: AuditStamp): Promise<JobRow[]> {
    return this.#call('quarantineRequeue', [filter, now, by]);
  }

  quarantinePurge(filter: QuarantineFilter, by?: AuditStamp): Promise<number> {
    return this.#call('quarantinePurge', [filter, by]);
  }

  outcomesFind(filter: OutcomeFilter): Promise<OutcomeRow[]> {
    return this.#call('outcomesFind', [filter]);
  }

  outcomesPrune(before: number, limit: number): Promise<number> {
    return this.#call('outcomesPrune', [before, limit]);
  }

  outcomesImpact(query: ImpactQuery): Promise<ImpactRow[]> {
    return this.#call('outcomesImpact', [query]);
  }

  alertsAdd(alerts: readonly NewAlert[]): Promise<AlertRow[]> {
    return this.#call('alertsAdd', [alerts]);
  }

  alertsList(): Promise<AlertRow[]> {
    return this.#call('alertsList', []);
  }

  alertsUpdate(update: AlertUpdate): Promise<boolean> {
    return this.#call('alertsUpdate', [update]);
  }

  alertsDelete(ids: readonly number[]): Promise<number> {
    return this.#call('alertsDelete', [ids]);
  }

  historyFind(jobId: number): Promise<HistoryEntry[]> {
    return this.#call('historyFind', [jobId]);
  }

  historyPrune(before: number, limit: number): Promise<number> {
    return this.#call('historyPrune', [before, limit]);
  }

  historyLiveJobs(): Promise<number[]> {
    return this.#call('historyLiveJobs', []);
  }

  // One node owns a SQLite file: it holds no lease, and there is never anyone to rescue.
  nodesPublish(info: () => NodeInfo): void {
    this.#info = info;
  }

  async nodesList(): Promise<NodeRow[]> {
    if (this.#state !== 'open') throw this.#unusable('nodesList');
    const now = Date.now();
    const info = this.#info?.() ?? { gearman: [], http: null, version: '', workers: {}, workersTotal: 0, jobsHeld: 0 };
    return [{ name: this.#node, epoch: 0, startedAt: this.#openedAt, renewedAt: now, expiresAt: null, now, info }];
  }

  async nodesRescue(_now: number): Promise<Rescue> {
    if (this.#state !== 'open') throw this.#unusable('nodesRescue');
    return { nodes: [], requeued: 0, taken: [] };
  }

  // async so that a refusal reaches the caller as a rejection, never synchronously.
  async #call<T>(op: OperationName, args: unknown[]): Promise<T> {
    if (this.#state !== 'open') throw this.#unusable(op);
    return (await this.#send(op, args)) as T;
  }

  #send(op: string, args: unknown[]): Promise<unknown> {
    const thread = this.#thread;
    if (thread === null) return Promise.reject(this.#unusable(op));
    const id = this.#nextId++;
    const packed = pack(args);
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { op, resolve, reject });
      // The thread keeps the process alive only while something waits on it.
      if (this.#pending.size === 1) thread.ref();
      try {
        thread.postMessage({ id, op, args: packed.value }, packed.transfer);
      } catch (err) {
        // Something that cannot cross a thread (a function, a class instance): a bug of the caller's.
        this.#pending.delete(id);
        if (this.#pending.size === 0) thread.unref();
        reject(
          new LazaretError(
            ErrorCode.STORE_FAILED,
            `${op} on the SQLite store ${this.describe()} got arguments that cannot be sent to its thread: ${(err as Error).message}`,
            {
              hint: 'This is a Lazaret bug: please report it with this message.',
            },
          ),
        );
      }
    });
  }

  #startThread(): void {
    const thread = startThread({
      path: this.#path,
      synchronous: this.#synchronous,
      busyTimeoutMs: this.#busyTimeoutMs,
      busyWaitMs: this.#busyWaitMs,
      ...(this.#checkpointPages === undefined ? {} : { checkpointPages: this.#checkpointPages }),
    });
    this.#thread = thread;
    thread.on('message', (reply: Reply) => {
      const pending = this.#pending.get(reply.id);
      if (pending === undefined) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) thread.unref();
      if (reply.ok) pending.resolve(unpack(reply.value));
      else pending.reject(errorFromWire(reply.error));
    });
    thread.on('error', (err) => {
      this.#failure ??= err instanceof Error ? err.message : String(err);
    });
    this.#exited = new Promise((resolve) => {
      thread.once('exit', (code) => {
        this.#thread = null;
        const asked = this.#state === 'closed' && this.#pending.size === 0;
        if (!asked) {
          this.#failure ??= `it exited with code ${code}`;
          if (this.#state === 'open') this.#state = 'failed';
        }
        const waiting = [...this.#pending.values()];
        this.#pending.clear();
        for (const p of waiting) p.reject(this.#threadStopped(p.op));
        resolve();
      });
    });
  }

  async #stopThread(): Promise<void> {
    const thread = this.#thread;
    if (thread === null) return;
    // After a 'close' reply the thread is ending by itself; terminate() covers the other paths.
    await thread.terminate();
    await this.#exited;
  }

  #threadStopped(op: string): LazaretError {
    return new LazaretError(
      ErrorCode.STORE_FAILED,
      `The SQLite store ${this.describe()} stopped working: its thread ended (${this.#failure ?? 'for no recorded reason'}); ${op} was not done.`,
      { hint: 'Restart Lazaret: what was acknowledged before is in the file. If it happens again, please report it with this message.' },
    );
  }

  #unusable(op: string): LazaretError {
    if (this.#state === 'failed') return this.#threadStopped(op);
    return this.#state === 'closed'
      ? new LazaretError(ErrorCode.STORE_CLOSED, `${op} on the SQLite store ${this.describe()} after close(); a closed store stays closed, create a new one.`)
      : new LazaretError(ErrorCode.STORE_CLOSED, `${op} on the SQLite store ${this.describe()} before open(); call open() first.`);
  }
}
