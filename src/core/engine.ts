// The job engine: queues per function and priority, claims, attempts, policies, quarantine,
// deadlines and scheduling. The store is the queue of record for durable jobs: memory holds, per
// function and priority, a window of the next jobs in line (with their payloads), the jobs running, and
// exact counts of the rest; the windows are refilled from the store as workers drain them. It opens no
// sockets: the gearman and http layers call it.

import type { Logger } from 'pino';
import { ErrorCode, isLazaretError, LazaretError } from '../errors.js';
import type { StorageAdapter } from '../storage/adapter.js';
import type {
  AttemptEnd,
  AttemptOutcome,
  AttemptRow,
  Coalesced,
  Evidence,
  FoundJob,
  JobRow,
  OutcomeState,
  Priority,
  QuarantineReason,
  QuarantineRow,
  QueuedIn,
  StoredJob,
  StoreState,
  WriteBatch,
} from '../storage/types.js';
import { systemClock, type Clock, type TimerRef } from './clock.js';
import { deathEvidence, describeDeath, MATCH_WINDOW_MS, ranIn, type Death, type Supervision } from './deaths.js';
import { GroupCommit } from './commit.js';
import { TypedEmitter, type CommittedEvent, type EngineEvents, type LiveEvent } from './events.js';
import { batchHandles } from './commit-handles.js';
import { errorText, parseEvidence } from '../protocol/evidence.js';
import { FunctionRegistry, type FunctionState } from './functions.js';
import { describeQuarantined } from './handoff.js';
import { IdAllocator } from './ids.js';
import { createJob, jobRow, type Job, type Waiter, type WorkerConn, type WorkUpdate } from './job.js';
import { coalescingKey, JobIndex } from './job-index.js';
import { isCrash, judge } from './judge.js';
import { PolicyBook } from './policy.js';
import { Quarantine } from './quarantine.js';
import { DEFAULT_RETENTION_MS, dueWait, idOfHandle, outcomeRow, Results } from './results.js';
import { lastLife } from './history.js';
import { TagRules } from './tags.js';
import { checkTime, MAX_TIME_MS } from './times.js';
import { Wakeup } from './wakeup.js';
import { Worker, type StuckAttempt } from './worker.js';

export interface EngineLimits {
  maxPayloadBytes: number;
  /** Longest unique key; gearmand refuses more than 64 bytes. */
  maxUniqueBytes: number;
  /** Default queue limit per function (0 = unlimited); `maxqueue` overrides it per function. */
  maxQueue: number;
  /** Longest function name a peer may use, bytes (default 512). */
  maxFunctionNameBytes?: number;
  /** Functions known at once (default 1000; 0 = unlimited); idle ones are forgotten. */
  maxFunctions?: number;
}

export interface EngineOptions {
  store: StorageAdapter;
  logger: Logger;
  clock?: Clock;
  policies?: PolicyBook;
  /** Job handles are this prefix plus the job id, e.g. `H:host:`. */
  handlePrefix: string;
  limits: EngineLimits;
  /** Each quarantined job is also submitted here as a background job (docs/quarantine.md). */
  quarantineFunction?: string | null;
  random?: () => number;
  tagRules?: TagRules;
  /** How long finished jobs are kept for the results API, ms; 0 = not at all. */
  resultRetentionMs?: number;
  /** Tells which worker processes a supervisor runs (default: none). */
  supervision?: Supervision;
  /** Runnable jobs held in memory per function and priority (the window); the rest wait in the store. */
  window?: number;
  /**
   * With a store several nodes share: how often the counts are read again from the store, ms (other
   * nodes take submissions this node does not see). Default 1000.
   */
  sharedPollMs?: number;
  /**
   * With a store several nodes share: how often this node looks for peers whose lease expired, to
   * rescue their jobs (nodesRescue), ms. Default 5000; a node's lease should be at least twice this.
   */
  rescueMs?: number;
}

export const DEFAULT_WINDOW = 2048;

/** A line of `show jobs` / `show unique jobs`. */
export interface ListedJob {
  handle: string;
  unique: string;
  retries: number;
  durable: boolean;
}
/** Scheduled jobs moved to their queues per store call when they fall due. */
const DUE_BATCH = 5000;
/** The stored jobs of one unique GET_STATUS_UNIQUE reads at most (one per function that has it). */
const STATUS_UNIQUE_ROWS = 1000;
/** How long a failed window refill or due move waits before it is tried again, ms. */
const STORE_RETRY_MS = 1000;
export const DEFAULT_SHARED_POLL_MS = 1000;
/**
 * With a shared store a node's window per function and priority is at most
 * max(SHARED_WINDOW_FLOOR, SHARED_WINDOW_PER_WORKER × its workers of the function) (and `window`): what
 * one node holds, other nodes' workers cannot take, and a job may be overtaken by at most that many.
 * A refill starts at half the window, and the other half must keep every worker busy while it is a
 * PostgreSQL round trip away (docs/architecture.md, "Several nodes on one store", has the figures).
 */
export const SHARED_WINDOW_PER_WORKER = 8;
export const SHARED_WINDOW_FLOOR = 32;
export const DEFAULT_RESCUE_MS = 5000;

/** What a submitter is told once the job is stored: its handle (another job's, when it coalesced in the store). */
export interface Acknowledged {
  handle: string;
  created: boolean;
  /** A foreground submitter waits on this job (and not on SubmitResult.job) when it joined one only the store held. */
  job?: Job;
}

export interface SubmitRequest {
  fn: string;
  unique: string;
  payload: Buffer;
  priority: Priority;
  background: boolean;
  runAt?: number | null;
  deadline?: number | null;
  tags?: readonly string[];
  waiter?: Waiter;
}

export interface SubmitResult {
  job: Job;
  created: boolean;
  /**
   * Resolves when the client may be told (durable jobs: after their insert committed; a foreground
   * job whose key the store may hold: after the store was asked), with the handle to tell: a job of the
   * same function and unique that only the store held takes the submission. null = now, with job.handle.
   */
  ready: Promise<Acknowledged> | null;
}

export interface Assignment {
  job: Job;
  /** Resolves true when the attempt is stored and the job may be sent; false when it must not be. */
  ready: Promise<boolean> | null;
}

export type ReportResult = 'ok' | 'not_found' | 'stale';

export interface JobStatus {
  known: boolean;
  running: boolean;
  numerator: number;
  denominator: number;
  waiters: number;
}

export class Engine extends TypedEmitter<EngineEvents> {
  readonly functions: FunctionRegistry;
  readonly workers = new Set<Worker>();
  readonly clock: Clock;
  readonly policies: PolicyBook;
  readonly limits: EngineLimits;
  readonly store: StorageAdapter;
  readonly quarantine: Quarantine;
  readonly results: Results;
  readonly #tagRules: TagRules;
  readonly #supervision: Supervision | null;
  readonly #log: Logger;
  readonly #commit: GroupCommit;
  readonly #random: () => number;
  readonly #quarantineFunction: string | null;
  readonly #jobs: JobIndex;
  readonly #ids: IdAllocator;
  /** Quarantine entries memory has made that the store has not taken yet (shown by the API meanwhile). */
  readonly #unsavedQuarantine = new Map<number, QuarantineRow>();
  /** Supervised workers that disconnected holding jobs: waiting (a few seconds) for how their process died. */
  readonly #parked = new Map<Worker, TimerRef>();
  /** Deaths reported while their worker's connection was still open. */
  readonly #reportedDeaths = new Map<Worker, { death: Death; timer: TimerRef }>();
  /** Stuck workers that disconnected lately: their death report still belongs on their timed-out attempts. */
  #gone: { w: Worker; at: number }[] = [];
  /** Jobs requeued from quarantine whose life is still running (their history is written when it ends). */
  readonly #requeuedIds = new Set<number>();
  /** New jobs the store did not insert because a stored job had their key, until their submitters are told. */
  readonly #coalesced = new Map<number, Coalesced>();
  /**
   * Foreground jobs waiting (state `pending`) while the store is asked for a job of their key it alone
   * holds: what they end as. Other submissions of that key meanwhile join them in memory, then that job.
   */
  readonly #lookups = new Map<Job, Promise<Acknowledged>>();
  readonly #window: number;
  /** Wakes up for the earliest scheduled job in the store, and for the earliest deadline there. */
  readonly #due: Wakeup;
  readonly #expiry: Wakeup;
  /** With a shared store: the timer that reads the counts again, and its period. */
  #poll: TimerRef | null = null;
  readonly #pollMs: number;
  /** A read of the counts is in flight; `#refreshAgain`: another was asked for meanwhile (a notification). */
  #refreshing = false;
  #refreshAgain = false;
  /** Several nodes share the store (capabilities.shared): windows are per worker, and released when unserved. */
  readonly #shared: boolean;
  /** With a shared store: the timer that rescues the jobs of dead peers, and its period. */
  #rescue: TimerRef | null = null;
  readonly #rescueMs: number;
  #started = false;
  #closed = false;
  /** Shutting down: no new submissions, no new deliveries. */
  #draining = false;
  /** Set while deliveries wait after the store refused an attempt start; the timer resumes them. */
  #deliveriesPaused: TimerRef | null = null;

  constructor(opts: EngineOptions) {
    super();
    this.store = opts.store;
    this.#log = opts.logger;
    this.clock = opts.clock ?? systemClock;
    this.policies = opts.policies ?? new PolicyBook();
    this.limits = opts.limits;
    this.functions = new FunctionRegistry({ maxFunctionNameBytes: opts.limits.maxFunctionNameBytes, maxFunctions: opts.limits.maxFunctions });
    this.#jobs = new JobIndex(opts.handlePrefix);
    this.#random = opts.random ?? Math.random;
    this.#quarantineFunction = opts.quarantineFunction ?? null;
    this.quarantine = new Quarantine(this, this.#log);
    this.results = new Results(this, opts.resultRetentionMs ?? DEFAULT_RETENTION_MS, this.#log);
    this.#tagRules = opts.tagRules ?? new TagRules();
    this.#supervision = opts.supervision ?? null;
    this.#window = Math.max(1, opts.window ?? DEFAULT_WINDOW);
    this.#pollMs = Math.max(10, opts.sharedPollMs ?? DEFAULT_SHARED_POLL_MS);
    this.#shared = this.store.capabilities.shared;
    this.#rescueMs = Math.max(10, opts.rescueMs ?? DEFAULT_RESCUE_MS);
    this.#due = new Wakeup(this.clock, () => this.#moveDue());
    this.#expiry = new Wakeup(this.clock, () => this.#expireStored());
    const handles = (b: WriteBatch): string[] => batchHandles(b, (id) => this.#jobs.handleOf(id));
    this.#commit = new GroupCommit(this.store, {
      rejected: (err, b) =>
        this.#log.error({ err, handles: handles(b) }, 'store write failed; these submissions or deliveries were refused and undone in memory'),
      retrying: (err, b, retryInMs) =>
        this.#log.error({ err, handles: handles(b), retryInMs }, 'store write failed; the change is kept in memory and written again'),
      recovered: (b) => this.#log.warn({ handles: handles(b) }, 'store write that had failed is now saved'),
      coalesced: (c) => {
        for (const x of c) this.#coalesced.set(x.id, x);
      },
      abandoned: (err, b) =>
        this.#log.error(
          { err, handles: handles(b) },
          'server stopping with changes the store never took: after a restart these jobs are back as they were stored (a completed one runs again, an expired or quarantined one is queued again)',
        ),
    });
    this.#ids = new IdAllocator((watermark) => void (this.#commit.stage().idWatermark = watermark), this.store);
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Reads what the store holds: counts, never the jobs themselves, so a start takes the same time with
   * a million queued as with none; windows fill when workers ask. Attempts that were running when the
   * node stopped end as crashed (a delivery counts, even one the node died in).
   */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#ids.start(await this.store.idsNext());
    // Jobs requeued before the restart: the life they are living joins their history when it ends.
    for (const id of await this.store.historyLiveJobs()) this.#requeuedIds.add(id);
    const now = this.clock.now();
    const interrupted = await this.store.recover(now);
    const { counts, nextRunAt, nextDeadline } = await this.store.countsLoad();
    let queued = 0;
    for (const c of counts) {
      const fn = this.functions.ensure(c.function);
      fn.stored[c.priority] += c.queued;
      fn.storedSince[c.priority] = c.oldestQueuedAt;
      fn.scheduled[c.priority] += c.scheduled;
      queued += c.queued + c.scheduled;
    }
    this.#resumeInterrupted(interrupted, () => 'the server stopped while the job was running', now);
    this.#due.arm(nextRunAt);
    this.#expiry.arm(nextDeadline);
    if (this.#shared) {
      this.#poll = this.clock.setTimer(this.#pollMs, () => this.#refreshCounts());
      this.#rescue = this.clock.setTimer(this.#rescueMs, () => this.#rescueDead());
      // Another node (or the SQL function submit()) committed jobs for whichever node takes them. Heard
      // from now on: a read of the counts before would race the one above (what came in between is
      // read at the first poll).
      this.store.onQueued?.((queues) => this.#onQueued(queues));
    }
    await this.#commit.flush();
    this.results.start();
    this.#log.info({ jobs: queued + interrupted.length, interrupted: interrupted.length }, 'store opened');
  }

  /**
   * Held jobs whose node stopped while they ran (this node's last life at start, a dead peer at a
   * rescue): each open attempt ends as crashed (the worker died with the node: that delivery counts,
   * toward maxCrashes too, so a job that kills whole nodes ends in quarantine); a job with no open
   * attempt waits in its window again.
   */
  #resumeInterrupted(rows: readonly StoredJob[], why: (row: StoredJob) => string, now: number): void {
    for (const row of rows) {
      const job = this.#restore(row);
      const open = job.history.pop();
      if (open === undefined || open.endedAt !== null) {
        if (open) job.history.push(open);
        this.#admit(job);
        continue;
      }
      job.state = 'running';
      job.fn.running++;
      job.current = open;
      this.#endAttempt(job, 'crashed', why(row), null, now);
    }
  }

  /**
   * A shared store: every `rescueMs`, the peers whose lease expired lose their jobs to this node in one
   * transaction. Those waiting in their windows go back to the store's queue in their places (the next
   * count refresh sees them); those they were running are ended here as crashed.
   */
  #rescueDead(): void {
    this.#rescue = null;
    if (this.#closed) return;
    const now = this.clock.now();
    this.store
      .nodesRescue(now)
      .then(
        ({ nodes, requeued, taken }) => {
          if (nodes.length === 0 || this.#closed) return;
          this.#log.warn(
            { nodes: nodes.map((n) => ({ node: n.name, epoch: n.epoch, renewedAgoMs: n.renewedAgoMs })), requeued, running: taken.length },
            `rescued the jobs of ${nodes.map((n) => n.name).join(', ')}: lease expired`,
          );
          const byName = new Map(nodes.map((n) => [n.name, n]));
          const from = new Map(taken.map((t) => [t.job.id, t.node]));
          this.#resumeInterrupted(
            taken.map((t) => t.job),
            (row) => {
              const name = from.get(row.id) ?? 'unknown';
              const ago = byName.get(name)?.renewedAgoMs;
              return ago === null || ago === undefined
                ? `node ${name} that was running the job is gone (it held the job without a lease)`
                : `node ${name} that was running the job stopped renewing its lease (last renewed ${ago} ms before the rescue)`;
            },
            now,
          );
        },
        (err: unknown) => {
          if (!this.#closed) this.#log.error({ err }, 'could not look for dead nodes to rescue; trying again');
        },
      )
      .finally(() => {
        if (!this.#closed) this.#rescue = this.clock.setTimer(this.#rescueMs, () => this.#rescueDead());
      });
  }

  /** Commits what is staged, cancels timers and closes the store. Connections must be gone first. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.results.stop();
    for (const timer of this.#parked.values()) timer.cancel();
    for (const { timer } of this.#reportedDeaths.values()) timer.cancel();
    this.#due.cancel();
    this.#expiry.cancel();
    this.#poll?.cancel();
    this.#poll = null;
    this.#deliveriesPaused?.cancel();
    this.#deliveriesPaused = null;
    this.#rescue?.cancel();
    this.#rescue = null;
    // Jobs waiting in windows go back to the store's line, in their places, for whoever starts next.
    const release = this.#commit.stage().releaseJobs;
    for (const job of this.#jobs.values()) {
      job.timer?.cancel();
      job.deadlineTimer?.cancel();
      if (job.durable && job.state === 'queued') release.push(job.id);
    }
    await this.#commit.flush();
    this.#commit.abandon();
    await this.store.close();
  }

  /** Stops taking submissions and handing out jobs; running jobs may still finish. */
  drain(): void {
    this.#draining = true;
  }

  /**
   * Ends every attempt still running when a shutdown's grace period is over. The job goes back to its
   * queue (and the store) without charging its budget: it was not the job's fault.
   */
  abandonRunning(): number {
    let n = 0;
    for (const [w, timer] of this.#parked) {
      timer.cancel();
      this.#parked.delete(w);
      this.#failHeld(w, null);
    }
    for (const w of this.workers) {
      for (const job of [...w.held.values()]) {
        this.#fail(job, 'returned', 'the server shut down before the job finished (not charged)', null);
        n++;
      }
    }
    return n;
  }

  get runningCount(): number {
    let n = 0;
    for (const fn of this.functions.all()) n += fn.running;
    return n;
  }

  get jobCount(): number {
    return this.#jobs.size;
  }

  // ---------------------------------------------------------------- clients

  submit(req: SubmitRequest): SubmitResult {
    if (this.#closed || this.#draining) throw new LazaretError(ErrorCode.SHUTTING_DOWN, 'The server is shutting down; submit again later');
    // Checked before anything is staged: a value the store cannot hold would fail the whole group commit.
    const runAt = checkTime(req.runAt, 'runAt');
    const deadline = checkTime(req.deadline, 'deadline');
    if (req.payload.length > this.limits.maxPayloadBytes) {
      throw new LazaretError(ErrorCode.PAYLOAD_TOO_LARGE, `Payload of ${req.payload.length} bytes is over the limit of ${this.limits.maxPayloadBytes}`);
    }
    const fn = this.functions.admit(req.fn);
    const key = coalescingKey(req.unique, req.payload);
    const existing = key === null ? undefined : this.#jobs.coalescing(fn, key);
    if (existing) return this.#coalesce(existing, req);
    const limit = fn.maxqueue[req.priority] || this.limits.maxQueue;
    if (limit > 0 && fn.total >= limit) {
      throw new LazaretError(ErrorCode.QUEUE_FULL, `Queue of ${req.fn} is full (${fn.total} jobs, limit ${limit})`);
    }
    const now = this.clock.now();
    const id = this.#ids.next();
    // Copied: the decoder's buffer is a view into a socket chunk that must not stay alive with the job.
    const job = createJob({
      id,
      handle: this.#jobs.prefix + id,
      fn,
      unique: req.unique,
      payload: Buffer.from(req.payload),
      priority: req.priority,
      submittedAt: now,
      durable: req.background,
    });
    job.tags = this.#tagRules.tagsFor(req.fn, job.payload, req.tags);
    this.#jobs.add(job);
    const ttl = this.policies.for(req.fn).ttl;
    job.runAt = runAt;
    job.deadline = deadline ?? (ttl === null ? null : Math.min(now + ttl, MAX_TIME_MS));
    if (key !== null) this.#jobs.claim(key, job);
    if (req.waiter) job.waiters.push(req.waiter);
    if (!req.background) {
      if (key !== null && this.#storeMayHold(fn)) return { job, created: true, ready: this.#lookUp(job, key) };
      this.#admit(job);
      this.#emitCommitted(false, 'job:created', job);
      return { job, created: true, ready: null };
    }
    job.state = 'pending';
    fn.pending++;
    const p = req.priority;
    // Into the window when nothing of its priority waits in the store and there is room (with a shared
    // store, only for a function this node has workers for); else it waits in the store, in line, and a
    // window takes it in its turn.
    const place: StoreState = runAt !== null && runAt > now ? 'scheduled' : this.#joinsWindow(fn, p) ? 'held' : 'queued';
    job.queuedAt = place === 'scheduled' ? (runAt ?? now) : now;
    if (place === 'queued') fn.storing[p]++;
    this.#commit.stage().insertJobs.push(jobRow(job, place, key));
    const ready = this.#commit.committed().then(
      () => this.#stored(job, place),
      (err: unknown) => {
        if (place === 'queued') fn.storing[p]--;
        // A write whose connection broke may have committed even so (its answer lost): the job would stay
        // held by this node, which forgets it now. Put back in line by a later commit, it runs (refused,
        // yet run: the client was never told it was stored); if it was not stored, that changes nothing.
        if (place === 'held' && isLazaretError(err, ErrorCode.STORE_CONNECTION_LOST)) this.#commit.stage().releaseJobs.push(job.id);
        if (job.state === 'pending') {
          fn.pending--;
          this.#drop(job);
        }
        throw err;
      },
    );
    return { job, created: true, ready: handled(ready) };
  }

  /** A new durable job's insert committed: it enters its window, or the store's counts. */
  #stored(job: Job, place: StoreState): Acknowledged {
    const fn = job.fn;
    const p = job.priority;
    if (place === 'queued') fn.storing[p]--;
    const met = this.#coalesced.get(job.id);
    if (met !== undefined) {
      // Not stored: a job only the store held had its function and key.
      this.#coalesced.delete(job.id);
      if (job.state === 'pending') fn.pending--;
      this.#drop(job);
      if (place === 'queued') this.#refill(fn, p);
      return { handle: met.existingHandle, created: false };
    }
    if (job.state !== 'pending') return { handle: job.handle, created: true };
    fn.pending--;
    // Announced now: this runs once the insert has committed.
    this.#emitCommitted(false, 'job:created', job);
    if (place === 'held') this.#admit(job);
    else this.#toStore(job, place);
    return { handle: job.handle, created: true };
  }

  /** A durable job now waits in the store only (queued beyond the window, or scheduled): memory lets it go. */
  #toStore(job: Job, place: StoreState): void {
    const fn = job.fn;
    const p = job.priority;
    this.#forget(job);
    this.#expiry.arm(job.deadline);
    if (place === 'scheduled') {
      fn.scheduled[p]++;
      this.#due.arm(job.runAt);
      return;
    }
    if (fn.stored[p] === 0) fn.storedSince[p] = job.queuedAt;
    fn.stored[p]++;
    this.#refill(fn, p);
  }

  /**
   * Whether the store may hold a job of fn that memory does not: one queued beyond a window, scheduled,
   * on its way there, or (a shared store, whose counts of other nodes' submissions lag) any.
   */
  #storeMayHold(fn: FunctionState): boolean {
    if (this.#shared) return true;
    for (let p = 0 as Priority; p <= 2; p = (p + 1) as Priority) if (fn.stored[p] > 0 || fn.scheduled[p] > 0 || fn.storing[p] > 0) return true;
    return false;
  }

  /**
   * A new foreground job, pending, whose key a job only the store holds may have: that job, held, takes
   * it over (its handle, its clients), as a job in memory would (README, Where Lazaret differs: B6).
   * Else it runs as it is. When the store cannot be asked, it runs as it is too: a foreground job needs
   * no store.
   */
  #lookUp(job: Job, key: string): Promise<Acknowledged> {
    const fn = job.fn;
    job.state = 'pending';
    fn.pending++;
    const lookup = (async (): Promise<Acknowledged> => {
      let row: StoredJob | null = null;
      try {
        // A job memory let go (a retry, a release) is in its place in the store once this has committed.
        await this.flush();
        row = await this.store.jobHoldByKey(fn.name, key);
      } catch (err) {
        if (!this.#closed)
          this.#log.error(
            { err, handle: job.handle, function: fn.name },
            'could not look in the store for a job of this unique; the foreground job runs on its own',
          );
      }
      this.#lookups.delete(job);
      // Not pending any more: an operator cancelled it meanwhile.
      const waiting = job.state === 'pending';
      if (waiting) fn.pending--;
      if (row === null || this.#closed) {
        // Its clients left meanwhile, or the engine closed (a row held now goes back at the next start,
        // recover, or at a peer's rescue).
        const runs = waiting && job.waiters.length > 0 && !this.#closed;
        if (runs) {
          this.#admit(job);
          this.#emitCommitted(false, 'job:created', job);
        } else if (waiting) this.#drop(job);
        return { handle: job.handle, created: true, job };
      }
      // Dropped first: the stored job takes its key.
      if (waiting) this.#drop(job);
      const found = this.#adopt(row) ?? this.#jobs.get(row.id)!;
      for (const w of job.waiters) if (!found.waiters.includes(w)) found.waiters.push(w);
      job.waiters.length = 0;
      if (found.state === 'stored') this.#admit(found, row.state === 'queued' ? row.queuedAt : undefined);
      // Nobody here to run it and no client left waiting: back to the store for the other nodes' workers.
      this.#releaseUnserved(fn);
      return { handle: found.handle, created: false, job: found };
    })();
    this.#lookups.set(job, lookup);
    return handled(lookup);
  }

  #coalesce(job: Job, req: SubmitRequest): SubmitResult {
    const lookup = this.#lookups.get(job);
    if (lookup !== undefined) {
      // The job may yet turn into one the store held: joined once that is known.
      if (req.background) return { job, created: false, ready: handled(lookup.then(() => this.#acknowledged(this.submit(req)))) };
      if (req.waiter && !job.waiters.includes(req.waiter)) job.waiters.push(req.waiter);
      return { job, created: false, ready: handled(lookup.then((told) => ({ ...told, created: false }))) };
    }
    if (req.waiter && !job.waiters.includes(req.waiter)) job.waiters.push(req.waiter);
    const told: Acknowledged = { handle: job.handle, created: false };
    if (req.background && !job.durable) {
      // A job that ever had a background submitter behaves as a background job (README, Where Lazaret differs: B6).
      // It is in memory (a window, running or waiting for a retry), so it is stored as held.
      job.durable = true;
      const batch = this.#commit.stage();
      batch.insertJobs.push(jobRow(job, 'held', coalescingKey(job.unique, job.payload)));
      if (job.current) batch.startAttempts.push({ jobId: job.id, n: job.current.n, worker: job.current.worker, startedAt: job.current.startedAt });
      const ready = this.#commit.committed().then(() => {
        // Met a job of its key that only the store holds: this one stays memory's, that one the store's.
        this.#coalesced.delete(job.id);
        return told;
      });
      return { job, created: false, ready: handled(ready) };
    }
    return { job, created: false, ready: job.state === 'pending' ? handled(this.#commit.committed().then(() => told)) : null };
  }

  /** What a submitter is told once `r` is ready. */
  async #acknowledged(r: SubmitResult): Promise<Acknowledged> {
    return r.ready ?? { handle: r.job.handle, created: r.created };
  }

  /** A client connection went away, or stopped waiting on this job. */
  detach(job: Job, waiter: Waiter): void {
    const i = job.waiters.indexOf(waiter);
    if (i === -1) return;
    job.waiters.splice(i, 1);
    if (job.waiters.length > 0) return;
    if (job.durable) {
      // A stored job kept here for its clients (one this node has no worker for): the other nodes' workers may take it now.
      this.#releaseUnserved(job.fn);
      return;
    }
    // A foreground job whose clients all left before it started is not run.
    if (job.state === 'queued' || job.state === 'scheduled') {
      this.#unqueue(job);
      this.#drop(job);
      this.#log.debug({ handle: job.handle, fn: job.fn.name }, 'foreground job abandoned by its clients before it ran');
    }
  }

  /** The live job with this handle (finished jobs: results.get()). */
  job(handle: string): Job | undefined {
    return this.#jobs.byHandle(handle);
  }

  /** GET_STATUS: a job in memory, else one only the store holds (queued beyond a window, or scheduled). */
  async status(handle: string): Promise<JobStatus> {
    const job = this.#jobs.byHandle(handle);
    if (job !== undefined || this.#closed) return this.#statusOf(job);
    const row = await this.storedJob(handle);
    if (row === null) return this.#statusOf(undefined);
    return { known: true, running: row.attempts.some((a) => a.endedAt === null), numerator: 0, denominator: 0, waiters: 0 };
  }

  /** A job only the store holds, by handle; null when it has none. */
  async storedJob(handle: string): Promise<StoredJob | null> {
    const id = idOfHandle(handle);
    if (id === null) return null;
    await this.flush();
    const row = await this.store.jobGet(id);
    return row !== null && row.handle === handle ? row : null;
  }

  /** The newest job in memory with this unique (any function); statusUniqueAnywhere() also asks the store. */
  statusUnique(unique: string): JobStatus {
    return this.#statusOf(this.#jobs.newestWithUnique(unique));
  }

  /**
   * GET_STATUS_UNIQUE: the newest job in memory with this unique, else the newest only the store holds
   * (any function, as memory answers).
   */
  async statusUniqueAnywhere(unique: string): Promise<JobStatus> {
    const job = this.#jobs.newestWithUnique(unique);
    if (job !== undefined || this.#closed || unique === '') return this.#statusOf(job);
    await this.flush();
    const found = await this.store.jobsFind({ unique, limit: STATUS_UNIQUE_ROWS });
    const newest = found.reduce<FoundJob | undefined>(
      (a, b) => (a === undefined || b.submittedAt > a.submittedAt || (b.submittedAt === a.submittedAt && b.id > a.id) ? b : a),
      undefined,
    );
    if (newest === undefined) return this.#statusOf(undefined);
    // Running: held (by another node) with an attempt not ended.
    const running = newest.state === 'held' && (await this.store.jobGet(newest.id))?.attempts.some((a) => a.endedAt === null) === true;
    return { known: true, running, numerator: 0, denominator: 0, waiters: 0 };
  }

  #statusOf(job: Job | undefined): JobStatus {
    if (!job || job.state === 'done') return { known: false, running: false, numerator: 0, denominator: 0, waiters: 0 };
    return {
      known: true,
      running: job.state === 'running',
      numerator: job.numerator,
      denominator: job.denominator,
      waiters: job.waiters.length,
    };
  }

  // ---------------------------------------------------------------- workers

  addWorker(conn: WorkerConn): Worker {
    const w = new Worker(conn);
    this.workers.add(w);
    return w;
  }

  /** The worker's process was found (its pid is in its name now): running attempts take the new name. */
  identified(w: Worker): void {
    for (const job of w.held.values()) if (job.current) job.current.worker = w.conn.name;
  }

  canDo(w: Worker, name: string, timeout: number | null): void {
    const fn = this.functions.admit(name);
    w.abilities.delete(name);
    w.abilities.set(name, { fn, timeout });
    fn.workers.add(w);
    if (w.sleeping) fn.sleepers.add(w);
    // Its first worker: the windows start taking what the store holds for it. With a shared store the
    // counts of a function nobody here served are as old as the last poll: read them now.
    if (this.#shared && fn.workers.size === 1 && this.#started) this.#refreshCounts();
    for (let p = 0 as Priority; p <= 2; p = (p + 1) as Priority) this.#refill(fn, p);
  }

  cantDo(w: Worker, name: string): void {
    const ability = w.abilities.get(name);
    if (!ability) return;
    w.abilities.delete(name);
    ability.fn.workers.delete(w);
    ability.fn.sleepers.delete(w);
    // gearmand requeues what the worker holds of that function, and so do we.
    for (const job of [...w.held.values()]) {
      if (job.fn === ability.fn) this.#fail(job, 'crashed', `worker ${w.conn.name} dropped ${name} while running it`, null);
    }
    this.#releaseUnserved(ability.fn);
    this.functions.release(ability.fn);
  }

  resetAbilities(w: Worker): void {
    for (const name of [...w.abilities.keys()]) this.cantDo(w, name);
  }

  /** PRE_SLEEP: true when the worker should be woken at once (work is waiting). */
  preSleep(w: Worker): boolean {
    if (w.isStuck || this.#deliveriesPaused !== null) {
      w.sleep();
      return false;
    }
    for (const { fn } of w.abilities.values()) {
      for (let p = 0 as Priority; p <= 2; p = (p + 1) as Priority) this.#refill(fn, p);
      if (fn.available > 0) {
        // The caller answers with the NOOP itself; count the worker as woken for fn all the same.
        w.clearWoken();
        w.wokenFor = fn;
        fn.woken++;
        return true;
      }
    }
    w.sleep();
    return false;
  }

  grab(w: Worker): Assignment | null {
    w.unsleep();
    const wokenFor = w.clearWoken();
    // While paused, a wake passed on to another sleeper would only bounce between them.
    if (this.#draining || this.#deliveriesPaused !== null) return null;
    // A stuck worker is still inside a job that timed out: what it would be given would wait behind it.
    const job = w.isStuck ? null : this.#pick(w);
    if (wokenFor && wokenFor !== job?.fn) wokenFor.wakeSleepers();
    if (!job) return null;
    this.#refill(job.fn, job.priority);
    const now = this.clock.now();
    const ability = w.abilities.get(job.fn.name);
    const policy = this.policies.for(job.fn.name);
    job.state = 'running';
    job.fn.running++;
    job.fn.lastStartedAt = now;
    job.worker = w;
    job.attempts++;
    job.waitMs ??= dueWait(job, now);
    job.numerator = 0;
    job.denominator = 0;
    job.current = { jobId: job.id, n: job.attempts, worker: w.conn.name, startedAt: now, endedAt: null, outcome: null, error: null, evidence: null };
    w.held.set(job.handle, job);
    job.deadlineTimer?.cancel();
    job.deadlineTimer = null;
    const timeout = minTimeout(policy.timeout, ability?.timeout ?? null);
    if (timeout !== null) {
      const n = job.attempts;
      job.timer = this.clock.setTimer(timeout, () => this.#timedOut(job, n, timeout));
    }
    const attempt = job.current;
    if (!job.durable) {
      this.#emitCommitted(false, 'attempt:started', job, attempt);
      return { job, ready: null };
    }
    this.#commit.stage().startAttempts.push({ jobId: job.id, n: attempt.n, worker: attempt.worker, startedAt: now });
    const ready = this.#commit.committed().then(
      () => true,
      (err: unknown) => {
        // Not recorded, so not sent: give the delivery back uncounted.
        this.#pauseDeliveries();
        if (job.current === attempt && isLazaretError(err, ErrorCode.STORE_CONNECTION_LOST)) {
          // Unless the commit went through all the same (its answer lost with the connection): the
          // attempt may be stored, so it ends `returned`, uncharged, and the next one takes a new number.
          this.#giveBack(job, 'the connection to the store broke before this delivery was known to be stored (not charged)');
        } else if (job.current === attempt) {
          job.timer?.cancel();
          job.timer = null;
          job.current = null;
          job.attempts--;
          job.worker = null;
          w.held.delete(job.handle);
          w.sent.delete(job.handle);
          job.fn.running--;
          this.#makeRunnable(job);
        }
        return false;
      },
    );
    // Registered after `ready`'s own handler, on the same commit: announced before the job is sent.
    this.#emitCommitted(true, 'attempt:started', job, attempt);
    return { job, ready };
  }

  /**
   * The store refused an attempt start (it is out of reach, most likely): without a pause, the worker
   * told NO_JOB would be woken at once for the job given back, and spin through failing writes for as
   * long as the store is away. Deliveries resume after STORE_RETRY_MS, and fail again if it still is.
   */
  #pauseDeliveries(): void {
    if (this.#deliveriesPaused !== null || this.#closed) return;
    this.#deliveriesPaused = this.clock.setTimer(STORE_RETRY_MS, () => {
      this.#deliveriesPaused = null;
      for (const fn of this.functions.all()) fn.wakeSleepers();
    });
  }

  /** Picks the highest-priority runnable job among the worker's functions, taking turns among them. */
  #pick(w: Worker): Job | null {
    const abilities = [...w.abilities.values()];
    const n = abilities.length;
    if (n === 0) return null;
    const now = this.clock.now();
    for (let p = 0 as Priority; p <= 2; p = (p + 1) as Priority) {
      // Jobs of this priority that wait in the store while their window refills come before any lower one.
      let behind = false;
      for (let i = 0; i < n; i++) {
        const k = (w.turn + i) % n;
        const fn = abilities[k]!.fn;
        if (fn.windowed[p] === 0 && fn.stored[p] > 0) {
          this.#refill(fn, p);
          behind = true;
        }
        for (let job = fn.take(p); job; job = fn.take(p)) {
          if (job.deadline !== null && job.deadline <= now) {
            job.state = 'done'; // take() already counted it out of the queue
            this.#expire(job);
            continue;
          }
          w.turn = (k + 1) % n;
          return job;
        }
      }
      // The worker gets NO_JOB now and a NOOP when the window has them (PRE_SLEEP).
      if (behind) return null;
    }
    return null;
  }

  workStatus(w: Worker, handle: string, numerator: Buffer, denominator: Buffer): ReportResult {
    const job = w.held.get(handle);
    if (!job) return this.#unknownReport(w, handle, 'WORK_STATUS');
    job.numerator = parseUint(numerator);
    job.denominator = parseUint(denominator);
    this.#forward(job, { kind: 'status', numerator, denominator });
    this.#emitLive('job:progress', job);
    return 'ok';
  }

  workData(w: Worker, handle: string, data: Buffer, warning: boolean): ReportResult {
    const job = w.held.get(handle);
    if (!job) return this.#unknownReport(w, handle, warning ? 'WORK_WARNING' : 'WORK_DATA');
    if (warning) {
      const evidence = parseEvidence(data);
      if (evidence && job.current) job.current.evidence = evidence;
    }
    this.#forward(job, warning ? { kind: 'warning', data } : { kind: 'data', data });
    return 'ok';
  }

  workComplete(w: Worker, handle: string, data: Buffer): ReportResult {
    const job = w.held.get(handle);
    if (!job) return this.#unknownReport(w, handle, 'WORK_COMPLETE', true);
    this.#forward(job, { kind: 'complete', data });
    job.waiters.length = 0;
    const attempt = this.#closeAttempt(job, 'completed', null, null, this.clock.now());
    this.#drop(job);
    if (job.durable) this.#commit.stage().deleteJobs.push(job.id);
    this.#emitCommitted(job.durable, 'attempt:ended', job, attempt);
    this.#finish(job, 'completed', data);
    this.#emitCommitted(job.durable, 'job:completed', job);
    return 'ok';
  }

  /** WORK_FAIL (data null) or WORK_EXCEPTION. */
  workFail(w: Worker, handle: string, exception: Buffer | null): ReportResult {
    const job = w.held.get(handle);
    if (!job) return this.#unknownReport(w, handle, exception ? 'WORK_EXCEPTION' : 'WORK_FAIL', true);
    let evidence = job.current?.evidence ?? null;
    let error = exception === null ? 'WORK_FAIL' : errorText(exception);
    if (exception) {
      const parsed = parseEvidence(exception);
      if (parsed) {
        evidence = parsed;
        error = parsed.message ?? parsed.errorClass ?? 'exception';
      }
    }
    // A process killed by a signal (a sandboxed job's child segfaulting, an OOM kill) is a crash, even
    // when a surviving parent reports it: it spends the smaller crash budget (docs/evidence.md).
    const outcome: AttemptOutcome = evidence?.signal ? 'crashed' : 'failed';
    const policy = this.policies.for(job.fn.name);
    if (job.waiters.length > 0 && !policy.retryForeground) {
      // Foreground clients get the failure as gearmand forwards it; the job does not run again for them.
      this.#forward(job, exception ? { kind: 'exception', data: exception } : { kind: 'fail' });
      job.waiters.length = 0;
      if (!job.durable) {
        const attempt = this.#closeAttempt(job, outcome, error, evidence, this.clock.now());
        this.#drop(job);
        this.#emitCommitted(false, 'attempt:ended', job, attempt);
        this.#finish(job, 'failed', null);
        return 'ok';
      }
    }
    this.#fail(job, outcome, error, evidence);
    return 'ok';
  }

  /** The worker's connection closed. */
  removeWorker(w: Worker): void {
    w.unsleep();
    w.clearWoken()?.wakeSleepers();
    const served = [...w.abilities.values()].map((a) => a.fn);
    for (const fn of served) {
      fn.workers.delete(w);
      this.functions.release(fn);
    }
    w.abilities.clear();
    this.workers.delete(w);
    if (w.isStuck) {
      this.#emitLive('worker:unstuck', w, 'disconnected');
      if (w.conn.pid !== null) {
        const now = this.clock.now();
        this.#gone = this.#gone.filter((g) => now - g.at <= MATCH_WINDOW_MS);
        this.#gone.push({ w, at: now });
      }
    }
    const reported = this.#reportedDeaths.get(w);
    if (reported) {
      reported.timer.cancel();
      this.#reportedDeaths.delete(w);
      this.#failHeld(w, reported.death);
    } else if (w.held.size > 0 && w.conn.pid !== null && this.#supervision?.supervises([w.conn.pid, w.conn.pgid]) === true) {
      // Its supervisor is about to say how the process died: the attempt ends with that, or without
      // after MATCH_WINDOW_MS. The jobs stay with it meanwhile.
      this.#parked.set(
        w,
        this.clock.setTimer(MATCH_WINDOW_MS, () => {
          this.#parked.delete(w);
          this.#failHeld(w, null);
        }),
      );
    } else this.#failHeld(w, null);
    for (const fn of served) this.#releaseUnserved(fn);
  }

  /**
   * Ends what a disconnected worker held. The crash is charged to the job it took first (the one it was
   * most likely running); the others were never started by it and go back uncharged (README, Where Lazaret differs: B18).
   */
  #failHeld(w: Worker, death: Death | null): void {
    let first = true;
    const held = [...w.held.values()];
    for (const job of held) {
      if (!w.sent.has(job.handle)) {
        // Perl's Gearman::Worker, for one, hangs up when a JOB_ASSIGN takes over 0.5 s: that is no crash.
        this.#giveBack(job, `worker ${w.conn.name} disconnected before the job was sent to it (not charged)`);
        continue;
      }
      if (!first) this.#fail(job, 'returned', `worker ${w.conn.name} disconnected before starting the job (not charged)`, null);
      else if (death) this.#fail(job, 'crashed', `worker ${w.conn.name} ${describeDeath(death)} while running the job`, deathEvidence(death));
      else this.#fail(job, 'crashed', `worker ${w.conn.name} disconnected while running the job`, null);
      first = false;
    }
    // A parked worker's jobs come back after its last fellow may have left.
    for (const fn of new Set(held.map((j) => j.fn))) this.#releaseUnserved(fn);
  }

  /**
   * A job whose JOB_ASSIGN never reached its worker: the attempt ends `returned` (uncharged) and the job
   * goes back to the head of its window at once, with no backoff: it was never delivered, so it keeps its
   * place in line.
   */
  #giveBack(job: Job, error: string): void {
    const now = this.clock.now();
    const attempt = this.#closeAttempt(job, 'returned', error, null, now);
    if (job.durable) {
      this.#commit.stage().endAttempts.push({
        jobId: job.id,
        n: attempt.n,
        endedAt: now,
        outcome: 'returned',
        error,
        evidence: null,
        worker: attempt.worker,
        requeue: { state: 'held', runAt: null, queuedAt: job.queuedAt },
      });
    }
    this.#emitCommitted(job.durable, 'attempt:ended', job, attempt);
    job.runAt = null;
    this.#admit(job, job.queuedAt, true);
  }

  /** The gearman layer wrote the job's JOB_ASSIGN to the worker: from now on a disconnect is charged. */
  assignmentSent(w: Worker, job: Job): void {
    if (w.held.get(job.handle) === job) w.sent.add(job.handle);
  }

  /**
   * A supervised process died (its supervisor's report): its evidence goes on the attempt its
   * connection held — now if the connection is already gone, else when it closes (within
   * MATCH_WINDOW_MS) — and on any attempt it was stuck in after a timeout.
   */
  processDied(death: Death): void {
    const now = this.clock.now();
    this.#gone = this.#gone.filter((g) => now - g.at <= MATCH_WINDOW_MS);
    let matched = 0;
    for (const [w, timer] of this.#parked) {
      if (!ranIn(w, death.pid)) continue;
      matched++;
      timer.cancel();
      this.#parked.delete(w);
      this.#failHeld(w, death);
      this.#stuckEvidence(w, death);
    }
    for (const w of this.workers) {
      if (!ranIn(w, death.pid)) continue;
      matched++;
      this.#reportedDeaths.get(w)?.timer.cancel();
      this.#reportedDeaths.set(w, { death, timer: this.clock.setTimer(MATCH_WINDOW_MS, () => this.#reportedDeaths.delete(w)) });
      this.#stuckEvidence(w, death);
    }
    for (const { w } of this.#gone) {
      if (!ranIn(w, death.pid)) continue;
      matched++;
      this.#stuckEvidence(w, death);
    }
    this.#log.info(
      { pid: death.pid, program: death.program, supervisor: death.supervisor, code: death.code, signal: death.signal, connections: matched },
      `supervised worker process ${death.pid} (${death.program}) ${describeDeath(death)}`,
    );
  }

  /**
   * The death of a stuck worker explains its timed-out attempts: merged into the attempt in memory while
   * the job is here, and in the store wherever the attempt is kept (the job's rows, or its quarantine
   * entry when that timeout sent it there).
   */
  #stuckEvidence(w: Worker, death: Death): void {
    const evidence = deathEvidence(death);
    for (const s of w.stuck.values()) {
      const batch = this.#commit.stage();
      batch.lateEvidence.push({ jobId: s.jobId, n: s.n, evidence });
      const job = this.#jobs.byHandle(s.handle);
      const attempt = job?.id === s.jobId ? job.history.find((a) => a.n === s.n) : undefined;
      if (job && attempt) attempt.evidence = { ...attempt.evidence, ...evidence };
      this.#emitCommitted(true, 'late:evidence', s.jobId, s.n, evidence);
    }
  }

  /** `final`: WORK_COMPLETE, WORK_FAIL or WORK_EXCEPTION, which also end a stuck worker's wait. */
  #unknownReport(w: Worker, handle: string, packet: string, final = false): ReportResult {
    const stuck = w.stuck.has(handle);
    if (!stuck && !w.endedRecently(handle)) return 'not_found';
    this.#log.info({ handle, worker: w.conn.name, packet }, 'late report for an attempt that already ended; ignored');
    this.#emitLive('report:ignored', handle, w.conn.name, packet);
    if (stuck && final) this.#unstick(w, handle);
    return 'stale';
  }

  #timedOut(job: Job, n: number, timeout: number): void {
    if (job.state !== 'running' || job.current?.n !== n) return;
    const w = job.worker;
    // Stuck first, so that the retry does not wake it.
    if (w && this.workers.has(w))
      this.#stick(w, { handle: job.handle, jobId: job.id, n, fn: job.fn, startedAt: job.current.startedAt, timedOutAt: this.clock.now() });
    this.#fail(job, 'timed_out', `ran past its timeout of ${timeout} ms`, null);
  }

  /**
   * The worker is still inside an attempt that timed out (a hung callback, a blocked call): until it
   * answers for it or disconnects, it gets no job and does not count as serving its functions.
   */
  #stick(w: Worker, stuck: StuckAttempt): void {
    const first = !w.isStuck;
    w.stuck.set(stuck.handle, stuck);
    if (!first) return;
    for (const { fn } of w.abilities.values()) fn.sleepers.delete(w);
    // A NOOP it was sent is lost on it: hand that job's wake-up to another worker.
    w.clearWoken()?.wakeSleepers();
    this.#log.warn(
      { worker: w.conn.name, pid: w.conn.pid, handle: stuck.handle, function: stuck.fn.name, attempt: stuck.n },
      `worker ${w.conn.name} is stuck: its attempt of ${stuck.handle} timed out and it has not answered; it gets no job until it answers or disconnects`,
    );
    this.#emitLive('worker:stuck', w, stuck);
  }

  #unstick(w: Worker, handle: string): void {
    w.stuck.delete(handle);
    if (w.isStuck) return;
    this.#log.info({ worker: w.conn.name, handle }, `worker ${w.conn.name} answered for its timed-out attempt and takes jobs again`);
    if (w.sleeping) {
      w.sleep();
      for (const { fn } of w.abilities.values()) fn.wakeSleepers();
    }
    this.#emitLive('worker:unstuck', w, 'answered');
  }

  // ---------------------------------------------------------------- outcomes

  /**
   * Ends the running attempt with a failure and decides: retry after backoff, or quarantine.
   * 'returned' ends it without charging the crash budget.
   */
  #fail(job: Job, outcome: AttemptOutcome, error: string, evidence: Evidence | null): void {
    const now = this.clock.now();
    if (isCrash(outcome)) {
      // `+ 1`: this attempt is counted when it closes (#record), just after this line is logged.
      this.#log.warn(
        { handle: job.handle, function: job.fn.name, unique: job.unique, worker: job.worker?.conn.name, attempt: job.attempts, crashes: job.crashes + 1 },
        outcome === 'crashed' ? 'worker crashed while running a job' : 'job timed out',
      );
    }
    this.#endAttempt(job, outcome, error, evidence, now);
  }

  /** Closes the current attempt, then retries or quarantines the job according to its policy. */
  #endAttempt(job: Job, outcome: AttemptOutcome, error: string, evidence: Evidence | null, now: number): void {
    const attempt = this.#closeAttempt(job, outcome, error, evidence, now);
    const end: AttemptEnd | null = job.durable ? { jobId: job.id, n: attempt.n, endedAt: now, outcome, error, evidence, worker: attempt.worker } : null;
    if (end) this.#commit.stage().endAttempts.push(end);
    // Announced after the commit even for an unstored job, as the quarantine or retry that follows is.
    this.#emitCommitted(true, 'attempt:ended', job, attempt);
    const verdict = judge({
      policy: this.policies.for(job.fn.name),
      attempts: job.attempts,
      crashes: job.crashes,
      outcome,
      error,
      unclaimed: !job.durable && job.waiters.length === 0,
      now,
      random: this.#random,
    });
    if (verdict.kind === 'quarantine') {
      this.#quarantine(job, verdict.reason, verdict.detail);
      return;
    }
    if (verdict.kind === 'drop') {
      this.#log.info({ handle: job.handle, fn: job.fn.name, outcome }, 'foreground job not retried: its clients have gone away');
      this.#drop(job);
      this.#finish(job, 'failed', null);
      return;
    }
    const runAt = verdict.retryAt;
    job.retries++;
    // GET_STATUS reports 0/0 for a requeued job, as gearmand does.
    job.numerator = 0;
    job.denominator = 0;
    job.runAt = runAt;
    this.#emitCommitted(true, 'job:retry', job, runAt);
    if (end === null || job.waiters.length > 0) {
      // In memory until it runs again: a foreground job, or a stored one that clients wait on.
      if (end) end.requeue = { state: 'held', runAt, queuedAt: runAt ?? now };
      this.#admit(job);
      return;
    }
    // At the back of the line: its window's end if nothing of its priority waits in the store, else the store's.
    const fn = job.fn;
    const p = job.priority;
    const place: StoreState = runAt !== null && runAt > now ? 'scheduled' : this.#joinsWindow(fn, p) ? 'held' : 'queued';
    end.requeue = { state: place, runAt, queuedAt: place === 'scheduled' ? (runAt ?? now) : now };
    if (place === 'held') {
      this.#admit(job);
      return;
    }
    job.queuedAt = end.requeue.queuedAt;
    this.#forget(job);
    if (place === 'scheduled') fn.scheduled[p]++;
    else fn.storing[p]++;
    // Counted where it waits once the store has it there (a due move or a refill before would miss it).
    this.#commit.committed().then(
      () => {
        this.#expiry.arm(job.deadline);
        if (place === 'scheduled') {
          this.#due.arm(runAt);
          return;
        }
        fn.storing[p]--;
        if (fn.stored[p] === 0) fn.storedSince[p] = now;
        fn.stored[p]++;
        this.#refill(fn, p);
      },
      // Only at close, with the change never stored (logged by the group commit): the store has the job as it was.
      () => undefined,
    );
  }

  /** Marks the running attempt ended and releases the worker's hold. */
  #closeAttempt(job: Job, outcome: AttemptOutcome, error: string | null, evidence: Evidence | null, now: number): AttemptRow {
    const attempt = job.current!;
    attempt.endedAt = now;
    attempt.outcome = outcome;
    attempt.error = error;
    attempt.evidence = evidence ?? attempt.evidence;
    this.#record(job, attempt);
    job.current = null;
    job.timer?.cancel();
    job.timer = null;
    if (job.worker) {
      job.worker.held.delete(job.handle);
      job.worker.sent.delete(job.handle);
      job.worker.rememberEnded(job.handle);
      job.worker = null;
    }
    job.fn.running--;
    job.state = 'done';
    return attempt;
  }

  /** An ended attempt joins the job's history; the only place crashes are counted (live or reloaded). */
  #record(job: Job, attempt: AttemptRow): void {
    job.history.push(attempt);
    if (isCrash(attempt.outcome)) job.crashes++;
  }

  /** Sends a job of any state to quarantine, in the next group commit. */
  #quarantine(job: Job, reason: QuarantineReason, detail: string): void {
    const now = this.clock.now();
    if (job.state === 'pending') job.fn.pending--;
    else if (job.state === 'queued' || job.state === 'scheduled') this.#unqueue(job);
    else if (job.state === 'running') {
      const attempt = this.#closeAttempt(job, 'cancelled', detail, null, now);
      if (job.durable)
        this.#commit
          .stage()
          .endAttempts.push({ jobId: job.id, n: attempt.n, endedAt: now, outcome: 'cancelled', error: detail, evidence: null, worker: attempt.worker });
    }
    for (const waiter of job.waiters) {
      waiter.deliver(job, waiter.exceptions ? { kind: 'exception', data: Buffer.from(`lazaret: quarantined (${reason}): ${detail}`) } : { kind: 'fail' });
    }
    job.waiters.length = 0;
    this.#drop(job);
    const entry: QuarantineRow = {
      id: job.id,
      handle: job.handle,
      function: job.fn.name,
      unique: job.unique,
      payload: job.payload,
      priority: job.priority,
      submittedAt: job.submittedAt,
      deadline: job.deadline,
      tags: job.tags,
      reason,
      detail,
      quarantinedAt: now,
      attempts: job.history,
    };
    this.#commit.stage().quarantine.push(entry);
    this.#finish(job, reason === 'expired' ? 'expired' : 'quarantined', null);
    this.#log.warn(
      {
        handle: job.handle,
        function: job.fn.name,
        unique: job.unique,
        worker: job.history.at(-1)?.worker,
        reason,
        attempts: job.attempts,
        crashes: job.crashes,
      },
      `job quarantined: ${detail}`,
    );
    this.#unsavedQuarantine.set(entry.id, entry);
    this.#commit.committed().then(
      () => {
        this.#unsavedQuarantine.delete(entry.id);
        this.#handOff(entry);
      },
      () => void this.#unsavedQuarantine.delete(entry.id),
    );
    this.#emitCommitted(true, 'job:quarantined', entry);
  }

  #handOff(entry: QuarantineRow): void {
    const target = this.#quarantineFunction;
    if (target === null || entry.function === target || this.#closed) return;
    try {
      this.submit({ fn: target, unique: `lazaret-quarantine-${entry.id}`, payload: describeQuarantined(entry), priority: 1, background: true });
    } catch (err) {
      this.#log.error({ err, handle: entry.handle, target }, 'could not hand the quarantined job to the quarantine function');
    }
  }

  /** The job's deadline passed before it started: waiting clients get WORK_FAIL now. */
  #expire(job: Job): void {
    this.#quarantine(job, 'expired', `deadline ${new Date(job.deadline ?? 0).toISOString()} passed before it could run`);
  }

  // ---------------------------------------------------------------- admin

  /** `cancel job`: waiters get WORK_FAIL once, the job goes to quarantine as cancelled. A job only the store holds is taken from it first. */
  async cancel(handle: string): Promise<boolean> {
    const job = this.#jobs.byHandle(handle) ?? (await this.#holdStored(handle));
    if (!job || job.state === 'done') return false;
    for (const waiter of job.waiters) waiter.deliver(job, { kind: 'fail' });
    job.waiters.length = 0;
    this.#quarantine(job, 'cancelled', 'cancelled by an operator');
    return true;
  }

  /** `drop function`: refused while workers, or jobs of any state, remain (README, Where Lazaret differs: B12). */
  dropFunction(name: string): 'ok' | 'not_found' | 'busy' {
    const fn = this.functions.findInsensitive(name);
    if (!fn) return 'not_found';
    if (fn.workers.size > 0 || fn.total > 0) return 'busy';
    this.functions.delete(fn.name);
    return 'ok';
  }

  /** The jobs in memory: windows, running, pending, waiting on a timer. Stored jobs beyond them: storedJobs(). */
  jobs(): IterableIterator<Job> {
    return this.#jobs.values();
  }

  /**
   * Every job, in memory or only in the store, by id, a page at a time (`show jobs`): what a node holds
   * comes from memory, the rest from the store.
   */
  async *allJobs(pageSize = 1000): AsyncGenerator<ListedJob[]> {
    // Foreground jobs live in memory only; they join the store's pages in id order.
    const foreground: Job[] = [];
    for (const job of this.#jobs.values()) if (!job.durable && job.state !== 'done') foreground.push(job);
    foreground.sort((a, b) => a.id - b.id);
    let f = 0;
    await this.flush();
    for (let after = 0; ; ) {
      const page = await this.store.jobsPage(after, pageSize);
      const out: ListedJob[] = [];
      for (const r of page) {
        while (f < foreground.length && foreground[f]!.id < r.id) out.push(foreground[f++]!);
        // Attempts ended so far are its retries (gearmand's count); memory knows the ones it holds.
        out.push(this.#jobs.byHandle(r.handle) ?? { handle: r.handle, unique: r.unique, retries: r.attempts, durable: true });
      }
      if (page.length === 0) out.push(...foreground.slice(f));
      if (out.length > 0) yield out;
      if (page.length === 0) return;
      after = page[page.length - 1]!.id;
    }
  }

  /** A job only the store holds, taken into memory (held) to be acted on; null when it holds none. */
  async #holdStored(handle: string): Promise<Job | null> {
    const id = idOfHandle(handle);
    if (id === null || this.#closed) return null;
    // A job on its way to the store (a retry, a release) is there once what is staged has committed.
    await this.flush();
    const row = await this.store.jobHold(id);
    if (row === null) return this.#jobs.byHandle(handle) ?? null;
    if (row.handle !== handle) {
      // Another job has this id's number under another prefix: give it back untouched.
      this.#commit.stage().releaseJobs.push(row.id);
      return null;
    }
    return this.#adopt(row);
  }

  /**
   * A job the store just let this node hold (cancel, expiry), in memory to be acted on at once: out of
   * the count it was in, state `stored` (in no queue). null when memory already has it.
   */
  #adopt(row: StoredJob): Job | null {
    if (this.#jobs.has(row.id)) return null;
    const fn = this.functions.ensure(row.function);
    if (row.state === 'scheduled') fn.scheduled[row.priority] = Math.max(0, fn.scheduled[row.priority] - 1);
    else if (row.state === 'queued') fn.stored[row.priority] = Math.max(0, fn.stored[row.priority] - 1);
    const job = this.#restore(row);
    job.state = 'stored';
    return job;
  }

  /** A quarantine entry made in memory whose write has not committed yet (the store is locked or failing). */
  unsavedQuarantine(id: number): QuarantineRow | undefined {
    return this.#unsavedQuarantine.get(id);
  }

  /** Changes memory acted on that the store has not taken yet; they are written again in the background. */
  get unsavedWrites(): number {
    return this.#commit.unsavedCount;
  }

  /** Jobs an operator took out of quarantine: the store has them queued at the back; the windows take them in turn. */
  requeued(rows: readonly JobRow[]): JobRow[] {
    const now = this.clock.now();
    for (const row of rows) {
      this.#requeuedIds.add(row.id);
      const fn = this.functions.ensure(row.function);
      if (fn.stored[row.priority] === 0) fn.storedSince[row.priority] = now;
      fn.stored[row.priority]++;
      this.#refill(fn, row.priority);
    }
    return [...rows];
  }

  // ---------------------------------------------------------------- internals

  /** A stored job (with its attempts) back in memory, indexed, not yet admitted. */
  #restore(row: StoredJob): Job {
    const fn = this.functions.ensure(row.function);
    const job = createJob({
      id: row.id,
      handle: row.handle,
      fn,
      unique: row.unique,
      payload: row.payload,
      priority: row.priority,
      submittedAt: row.submittedAt,
      durable: true,
    });
    job.runAt = row.runAt;
    job.deadline = row.deadline;
    job.tags = row.tags;
    job.queuedAt = row.queuedAt;
    job.requeued = this.#requeuedIds.has(row.id);
    job.attempts = row.attempts.length;
    // The run-at stored now may be a retry's: the wait before the first start is only approximate.
    const first = row.attempts[0];
    if (first) job.waitMs = dueWait(job, first.startedAt);
    for (const a of row.attempts) {
      if (a.endedAt === null) job.history.push(a);
      else this.#record(job, a);
    }
    job.retries = row.attempts.filter((a) => a.endedAt !== null).length;
    this.#jobs.add(job);
    if (row.coalesceKey !== null) this.#jobs.claim(row.coalesceKey, job);
    return job;
  }

  /**
   * How many runnable jobs of fn this node holds per priority at most: `window`, and with a shared
   * store no more than its workers of fn can start while a refill is on its way (what a node holds,
   * the workers of the others cannot take).
   */
  #windowOf(fn: FunctionState): number {
    if (!this.#shared) return this.#window;
    return Math.min(this.#window, Math.max(SHARED_WINDOW_FLOOR, SHARED_WINDOW_PER_WORKER * fn.workers.size));
  }

  /**
   * Whether a job of fn becoming runnable here joins this node's window: nothing waits before it in the
   * store and there is room; with a shared store, also only when this node has a worker for it (else
   * it is stored queued, for any node's workers).
   */
  #joinsWindow(fn: FunctionState, p: Priority): boolean {
    if (this.#shared && fn.workers.size === 0) return false;
    return fn.fitsWindow(p, this.#windowOf(fn));
  }

  /**
   * With a shared store, when the last worker of fn here has gone: the jobs of its windows that never
   * started go back to the store's line in their places, for the workers of other nodes. Jobs clients
   * wait on here stay.
   */
  #releaseUnserved(fn: FunctionState): void {
    if (!this.#shared || fn.workers.size > 0 || this.#closed) return;
    const released: Job[] = [];
    for (let p = 0 as Priority; p <= 2; p = (p + 1) as Priority) {
      const kept: Job[] = [];
      for (let job = fn.take(p); job; job = fn.take(p)) (job.durable && job.waiters.length === 0 ? released : kept).push(job);
      for (const job of kept) fn.enqueue(job);
    }
    if (released.length === 0) return;
    const ids = this.#commit.stage().releaseJobs;
    for (const job of released) {
      ids.push(job.id);
      this.#forget(job);
    }
    this.#commit.committed().then(
      () => {
        // First in line: they were taken before anything the store still holds.
        for (const job of [...released].reverse()) {
          const p = job.priority;
          fn.stored[p]++;
          fn.storedSince[p] = job.queuedAt;
          this.#expiry.arm(job.deadline);
        }
      },
      // Only at close, the release never stored: the next start of this node gives them back.
      () => undefined,
    );
  }

  /**
   * Fills the window of fn and priority p from the store when it is under half full and the store
   * holds more; only for functions with workers (a window nobody drains is memory spent for nothing).
   */
  #refill(fn: FunctionState, p: Priority): void {
    if (fn.refilling[p] || fn.stored[p] <= 0 || fn.workers.size === 0 || this.#closed || !this.#started) return;
    const size = this.#windowOf(fn);
    if (fn.windowed[p] * 2 > size) return;
    const asked = size - fn.windowed[p];
    fn.refilling[p] = true;
    this.store.windowFill(fn.name, p, asked).then(
      (rows) => {
        fn.refilling[p] = false;
        this.#filled(fn, p, rows, asked);
      },
      (err: unknown) => {
        fn.refilling[p] = false;
        if (this.#closed) return;
        this.#log.error({ err, function: fn.name, priority: p }, 'could not take the next jobs from the store; trying again');
        this.clock.setTimer(STORE_RETRY_MS, () => this.#refill(fn, p));
      },
    );
  }

  #filled(fn: FunctionState, p: Priority, rows: readonly StoredJob[], asked: number): void {
    for (const row of rows) {
      fn.stored[p]--;
      const known = this.#jobs.get(row.id);
      if (known !== undefined) continue;
      const job = this.#restore(row);
      this.#admit(job, row.queuedAt);
    }
    if (rows.length < asked && fn.stored[p] > 0 && fn.storing[p] === 0) {
      // The store has fewer than counted: a count went wrong. The store is right.
      this.#log.warn({ function: fn.name, priority: p, counted: fn.stored[p] + rows.length, found: rows.length }, 'queued count corrected from the store');
      fn.stored[p] = 0;
    }
    if (fn.stored[p] < 0) fn.stored[p] = 0;
    // The next in the store came after the last one taken.
    fn.storedSince[p] = fn.stored[p] === 0 ? null : (rows.at(-1)?.queuedAt ?? fn.storedSince[p]);
    fn.wakeSleepers();
    if (rows.length > 0) this.#refill(fn, p);
  }

  /**
   * A store several nodes share: the others take submissions and move jobs this node does not see, so
   * the counts of what waits in the store are read again every `sharedPollMs`, and the windows of
   * functions with workers here refill from them. A count between two reads may be off by the jobs
   * another node took meanwhile; a refill that finds fewer corrects it. A notification (#onQueued) reads
   * them at once; at most one read is in flight, and one asked for meanwhile follows it.
   */
  #refreshCounts(): void {
    if (this.#closed) return;
    if (this.#refreshing) {
      this.#refreshAgain = true;
      return;
    }
    this.#poll?.cancel();
    this.#poll = null;
    this.#refreshing = true;
    this.store
      .countsLoad()
      .then(
        ({ counts, nextRunAt, nextDeadline }) => {
          if (this.#closed) return;
          const seen = new Set<string>();
          for (const c of counts) {
            const fn = this.functions.ensure(c.function);
            seen.add(`${c.priority}\0${c.function}`);
            fn.stored[c.priority] = c.queued;
            fn.storedSince[c.priority] = c.oldestQueuedAt;
            fn.scheduled[c.priority] = c.scheduled;
          }
          for (const fn of this.functions.all()) {
            for (let p = 0 as Priority; p <= 2; p = (p + 1) as Priority) {
              if (!seen.has(`${p}\0${fn.name}`)) {
                fn.stored[p] = 0;
                fn.storedSince[p] = null;
                fn.scheduled[p] = 0;
              }
              this.#refill(fn, p);
            }
          }
          this.#due.arm(nextRunAt);
          this.#expiry.arm(nextDeadline);
        },
        (err: unknown) => {
          if (!this.#closed) this.#log.error({ err }, 'could not read the counts of the shared store; trying again');
        },
      )
      .finally(() => {
        this.#refreshing = false;
        if (this.#closed) return;
        if (this.#refreshAgain) {
          this.#refreshAgain = false;
          this.#refreshCounts();
        } else this.#poll = this.clock.setTimer(this.#pollMs, () => this.#refreshCounts());
      });
  }

  /**
   * The store says jobs were committed queued in these queues (none named: any), by another node or
   * the SQL function submit(). The counts are read now, so this node's sleeping workers are woken
   * without waiting for the poll, when a named queue is one whose workers here believe it empty; a
   * queue known to hold more is drained by refills anyway (a stream of submissions elsewhere does not
   * make every node read the counts at each commit), and functions no worker here serves wait for the
   * poll.
   */
  #onQueued(queues: readonly QueuedIn[]): void {
    if (this.#closed) return;
    const news = (q: QueuedIn): boolean => {
      const fn = this.functions.get(q.function);
      return fn !== undefined && fn.workers.size > 0 && fn.stored[q.priority] === 0;
    };
    if (queues.length === 0 || queues.some(news)) this.#refreshCounts();
  }

  /** Jobs no window holds whose deadline passed: quarantined as expired, as those in memory are by their timers. */
  #expireStored(): void {
    if (this.#closed) return;
    const now = this.clock.now();
    this.store.deadlineTake(now, DUE_BATCH).then(
      ({ jobs, nextDeadline }) => {
        for (const row of jobs) {
          const job = this.#adopt(row);
          if (job !== null) this.#expire(job);
        }
        this.#expiry.arm(jobs.length >= DUE_BATCH ? now : nextDeadline);
      },
      (err: unknown) => {
        if (this.#closed) return;
        this.#log.error({ err }, 'could not read the deadlines of stored jobs; trying again');
        this.#expiry.arm(now + STORE_RETRY_MS);
      },
    );
  }

  #moveDue(): void {
    if (this.#closed) return;
    const now = this.clock.now();
    this.store.dueMove(now, DUE_BATCH).then(
      ({ moved, nextRunAt }) => {
        let n = 0;
        for (const m of moved) {
          n += m.n;
          const fn = this.functions.ensure(m.function);
          fn.scheduled[m.priority] = Math.max(0, fn.scheduled[m.priority] - m.n);
          if (fn.stored[m.priority] === 0) fn.storedSince[m.priority] = now;
          fn.stored[m.priority] += m.n;
          this.#refill(fn, m.priority);
        }
        this.#due.arm(n >= DUE_BATCH ? now : nextRunAt);
      },
      (err: unknown) => {
        if (this.#closed) return;
        this.#log.error({ err }, 'could not move due scheduled jobs into their queues; trying again');
        this.#due.arm(now + STORE_RETRY_MS);
      },
    );
  }

  /**
   * A job enters the runnable world: scheduled until its run-at time, then queued (since `since`,
   * default now), at the end of its window or, `front`, at its head.
   */
  #admit(job: Job, since?: number, front = false): void {
    const now = this.clock.now();
    if (job.deadline !== null) {
      if (job.deadline <= now) {
        job.state = 'done'; // not counted in any queue yet
        this.#expire(job);
        return;
      }
      job.deadlineTimer?.cancel();
      job.deadlineTimer = this.clock.setTimer(job.deadline - now, () => {
        job.deadlineTimer = null;
        if (job.state === 'queued' || job.state === 'scheduled') this.#expire(job);
      });
    }
    if (since === undefined && job.runAt !== null && job.runAt > now) {
      job.state = 'scheduled';
      job.fn.scheduled[job.priority]++;
      job.timer?.cancel();
      job.timer = this.clock.setTimer(job.runAt - now, () => {
        if (job.state !== 'scheduled') return;
        job.timer = null;
        job.fn.scheduled[job.priority] = Math.max(0, job.fn.scheduled[job.priority] - 1);
        this.#makeRunnable(job);
      });
      return;
    }
    this.#makeRunnable(job, since, front);
  }

  #makeRunnable(job: Job, since?: number, front = false): void {
    job.state = 'queued';
    job.queuedAt = since ?? this.clock.now();
    if (front) job.fn.enqueueFront(job);
    else job.fn.enqueue(job);
    job.fn.wakeSleepers();
    this.#emitLive('job:queued', job);
  }

  /** Takes a queued or scheduled job out of its queue's counts (the queue skips it lazily). */
  #unqueue(job: Job): void {
    if (job.state === 'queued') job.fn.forget(job);
    else if (job.state === 'scheduled') {
      job.fn.scheduled[job.priority] = Math.max(0, job.fn.scheduled[job.priority] - 1);
      job.timer?.cancel();
      job.timer = null;
    }
    job.state = 'done';
  }

  /** A stored job leaves memory; the store keeps it. */
  #forget(job: Job): void {
    job.state = 'stored';
    job.timer?.cancel();
    job.deadlineTimer?.cancel();
    job.timer = null;
    job.deadlineTimer = null;
    job.waiters.length = 0;
    this.#jobs.remove(job);
  }

  /** Forgets a job everywhere. */
  #drop(job: Job): void {
    job.state = 'done';
    job.timer?.cancel();
    job.deadlineTimer?.cancel();
    job.timer = null;
    job.deadlineTimer = null;
    this.#jobs.remove(job);
  }

  /** Records how a job ended (in the same group commit as its deletion or quarantine) and announces it. */
  #finish(job: Job, state: OutcomeState, result: Buffer | null): void {
    this.#requeuedIds.delete(job.id);
    const keep = this.results.keeps(job);
    if (!keep && !job.requeued && this.listenerCount('job:finished') === 0) return;
    const outcome = outcomeRow(job, state, result, this.clock.now());
    if (keep) this.#commit.stage().outcomes.push(outcome);
    const life = lastLife(job, outcome);
    if (life !== null) this.#commit.stage().history.push(life);
    this.#emitCommitted(true, 'job:finished', outcome);
  }

  #forward(job: Job, update: WorkUpdate): void {
    for (const waiter of job.waiters) waiter.deliver(job, update);
  }

  /**
   * The only way a change to stored state is announced: once what is staged now has committed (never if
   * it was refused). `stored` false (a foreground job nothing was written for): at once.
   */
  #emitCommitted<K extends CommittedEvent>(stored: boolean, event: K, ...args: EngineEvents[K]): void {
    if (!stored) {
      this.emit(event, ...args);
      return;
    }
    this.#commit.committed().then(
      () => void this.emit(event, ...args),
      () => undefined,
    );
  }

  /** Events about memory only (nothing stored to wait for). */
  #emitLive<K extends LiveEvent>(event: K, ...args: EngineEvents[K]): void {
    this.emit(event, ...args);
  }

  /** Commits everything staged; for tests and shutdown. */
  flush(): Promise<void> {
    return this.#commit.flush();
  }
}

/**
 * The same promise, marked handled: a submitter that does not wait for the answer (the quarantine
 * hand-off) must not turn a refused commit into an unhandled rejection. Those who await it still see it.
 */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

function minTimeout(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

/** gearmand parses WORK_STATUS numbers with atoi and keeps them as uint32. */
function parseUint(buf: Buffer): number {
  const n = Number.parseInt(buf.toString('latin1'), 10);
  return Number.isFinite(n) ? n >>> 0 : 0;
}
