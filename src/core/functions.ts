// Per-function queues (one FIFO per priority) and the counters the admin protocol reports.

import { ErrorCode, LazaretError } from '../errors.js';
import type { Priority } from '../storage/types.js';
import { Deque } from './deque.js';
import type { Job } from './job.js';
import type { Worker } from './worker.js';

export class FunctionState {
  readonly name: string;
  /**
   * The window: runnable jobs held in memory, per priority, in line. Jobs that leave early stay in
   * place, marked, and are skipped. Behind the window, `stored` more wait in the store, in line.
   */
  readonly queues: [Deque<Job>, Deque<Job>, Deque<Job>] = [new Deque(), new Deque(), new Deque()];
  /** Live runnable jobs in the window, per priority. */
  readonly windowed: [number, number, number] = [0, 0, 0];
  /** Runnable jobs in the store beyond the window (held by no node), per priority. */
  readonly stored: [number, number, number] = [0, 0, 0];
  /** Submissions staged to be stored beyond the window, not yet committed, per priority. */
  readonly storing: [number, number, number] = [0, 0, 0];
  /** When the first job in line in the store became runnable, per priority (null: none, or unknown). */
  readonly storedSince: [number | null, number | null, number | null] = [null, null, null];
  /** A window refill is being read from the store, per priority. */
  readonly refilling: [boolean, boolean, boolean] = [false, false, false];
  /** Jobs waiting for their run-at time, per priority: in memory and in the store. */
  readonly scheduled: [number, number, number] = [0, 0, 0];
  running = 0;
  /** When an attempt of it last started (the stalled-function health check), or null. */
  lastStartedAt: number | null = null;
  /** Jobs created but not yet committed. */
  pending = 0;
  readonly workers = new Set<Worker>();
  /** Sleeping workers registered for this function, longest asleep first. */
  readonly sleepers = new Set<Worker>();
  /** Workers sent a NOOP for this function that have not grabbed since. */
  woken = 0;
  /** gearmand's maxqueue thresholds per priority (0 = unlimited), on the function's total. */
  maxqueue: [number, number, number] = [0, 0, 0];
  /** Made by an operator (`create function`): kept until dropped, even when idle. */
  pinned = false;

  constructor(name: string) {
    this.name = name;
  }

  /** Nothing refers to it: no worker, no job of any state, no operator setting. */
  get idle(): boolean {
    return this.workers.size === 0 && this.total === 0 && !this.pinned && this.maxqueue.every((n) => n === 0);
  }

  /** Runnable jobs per priority, in the window and in the store. */
  get queued(): [number, number, number] {
    return [this.windowed[0] + this.stored[0], this.windowed[1] + this.stored[1], this.windowed[2] + this.stored[2]];
  }

  /** Runnable jobs, in the window and in the store. */
  get runnable(): number {
    return this.windowed[0] + this.windowed[1] + this.windowed[2] + this.stored[0] + this.stored[1] + this.stored[2];
  }

  /** Runnable jobs in the window: what a worker can be given without waiting for the store. */
  get available(): number {
    return this.windowed[0] + this.windowed[1] + this.windowed[2];
  }

  /** Every job of the function: pending, queued, scheduled and running (admin `status` TOTAL). */
  get total(): number {
    return this.runnable + this.scheduled[0] + this.scheduled[1] + this.scheduled[2] + this.running + this.pending;
  }

  /** Whether a job of this priority becoming runnable joins the window (nothing waits for it in the store, and there is room). */
  fitsWindow(priority: Priority, size: number): boolean {
    return this.stored[priority] === 0 && this.storing[priority] === 0 && this.windowed[priority] < size;
  }

  enqueue(job: Job): void {
    this.queues[job.priority].push(job);
    this.windowed[job.priority]++;
  }

  /** Back at the head of its window: a job that was never delivered keeps its place. */
  enqueueFront(job: Job): void {
    this.queues[job.priority].unshift(job);
    this.windowed[job.priority]++;
  }

  /** Takes the oldest live job of the given priority, skipping the ones that left. */
  take(priority: Priority): Job | undefined {
    if (this.windowed[priority] === 0) return undefined;
    const q = this.queues[priority];
    for (;;) {
      const job = q.shift();
      if (job === undefined) return undefined;
      if (job.state === 'queued' && job.fn === this) {
        this.windowed[priority]--;
        return job;
      }
    }
  }

  /** When the longest-waiting runnable job became runnable, or null when none is. */
  oldestQueuedAt(): number | null {
    let oldest: number | null = null;
    for (let p = 0; p < 3; p++) {
      let at: number | null = null;
      if (this.windowed[p] !== 0) at = this.queues[p]!.first((j) => j.state === 'queued' && j.fn === this)?.queuedAt ?? null;
      // The window holds the first in line; without one, the store's first in line.
      else if (this.stored[p] !== 0) at = this.storedSince[p] ?? null;
      if (at !== null && (oldest === null || at < oldest)) oldest = at;
    }
    return oldest;
  }

  /** Bookkeeping for a queued job that leaves the window without being taken (cancel, expiry, abandon). */
  forget(job: Job): void {
    this.windowed[job.priority]--;
  }

  /** Wakes sleeping workers: as many as there are runnable jobs in the window nobody was woken for (README, Where Lazaret differs: B18). */
  wakeSleepers(): void {
    while (this.available > this.woken && this.sleepers.size > 0) {
      const w = this.sleepers.values().next().value as Worker;
      w.wakeFor(this);
    }
  }
}

/** When a job became runnable: submitted, or its run-at time if later. */
export function dueAt(job: Job): number {
  return Math.max(job.submittedAt, job.runAt ?? 0);
}

export const DEFAULT_MAX_FUNCTION_NAME_BYTES = 512;
export const DEFAULT_MAX_FUNCTIONS = 1000;

/**
 * C0 controls, DEL and C1 controls: they forge rows and lines in the admin text protocol (tab, LF, CR),
 * separate packet arguments (NUL), or drive a terminal that prints them (ESC, CSI).
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Why a function name cannot be used, or null when it can. */
export function functionNameProblem(name: string, maxBytes: number): string | null {
  if (name === '') return 'Function name is empty';
  const bytes = Buffer.byteLength(name);
  if (bytes > maxBytes) return `Function name of ${bytes} bytes is over the limit of ${maxBytes}`;
  // Bytes that are not UTF-8 arrive as U+FFFD: two different byte strings would become one function.
  if (name.includes('\uFFFD')) return 'Function name is not valid UTF-8 (it decodes to U+FFFD)';
  const m = CONTROL.exec(name);
  if (m) return `Function name contains the control character U+${m[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()} at position ${m.index}`;
  return null;
}

export function checkFunctionName(name: string, maxBytes: number): void {
  const problem = functionNameProblem(name, maxBytes);
  if (problem !== null) {
    throw new LazaretError(ErrorCode.BAD_FUNCTION_NAME, problem, {
      hint: 'function names are printable UTF-8 text without tabs, newlines or other control characters',
    });
  }
}

export interface FunctionLimits {
  /** Longest function name accepted from a peer, bytes. */
  maxFunctionNameBytes: number;
  /** Functions known at once; 0 = unlimited. */
  maxFunctions: number;
}

export class FunctionRegistry {
  readonly #byName = new Map<string, FunctionState>();
  readonly limits: FunctionLimits;

  constructor(limits: Partial<FunctionLimits> = {}) {
    this.limits = {
      maxFunctionNameBytes: limits.maxFunctionNameBytes ?? DEFAULT_MAX_FUNCTION_NAME_BYTES,
      maxFunctions: limits.maxFunctions ?? DEFAULT_MAX_FUNCTIONS,
    };
  }

  get(name: string): FunctionState | undefined {
    return this.#byName.get(name);
  }

  /**
   * The function a peer names (CAN_DO, a submission, `create function`), made on first use: the name is
   * checked and the number of functions capped, idle ones being forgotten first to make room.
   */
  admit(name: string): FunctionState {
    const known = this.#byName.get(name);
    if (known !== undefined) return known;
    checkFunctionName(name, this.limits.maxFunctionNameBytes);
    const cap = this.limits.maxFunctions;
    if (cap > 0 && this.#byName.size >= cap) {
      this.forgetIdle();
      if (this.#byName.size >= cap) {
        throw new LazaretError(ErrorCode.TOO_MANY_FUNCTIONS, `Too many functions: ${this.#byName.size} are in use (limit ${cap})`, {
          hint: 'a client may be inventing function names; raise limits.maxFunctions if they are real',
        });
      }
    }
    return this.ensure(name);
  }

  /** Forgets every idle function (its quarantine stays in the store and is still listed). */
  forgetIdle(): number {
    let n = 0;
    for (const fn of this.#byName.values()) {
      if (fn.idle) {
        this.#byName.delete(fn.name);
        n++;
      }
    }
    return n;
  }

  /** Forgets fn if it is idle. */
  release(fn: FunctionState): void {
    if (fn.idle && this.#byName.get(fn.name) === fn) this.#byName.delete(fn.name);
  }

  /** Unchecked: for names already stored (jobs loaded at start or requeued from quarantine). */
  ensure(name: string): FunctionState {
    let fn = this.#byName.get(name);
    if (fn === undefined) {
      fn = new FunctionState(name);
      this.#byName.set(name, fn);
    }
    return fn;
  }

  delete(name: string): boolean {
    return this.#byName.delete(name);
  }

  /** gearmand matches `drop function` case-insensitively. */
  findInsensitive(name: string): FunctionState | undefined {
    const exact = this.#byName.get(name);
    if (exact) return exact;
    const lower = name.toLowerCase();
    for (const fn of this.#byName.values()) if (fn.name.toLowerCase() === lower) return fn;
    return undefined;
  }

  /** The functions in use; idle ones are forgotten on the way, so listings never show them. */
  *all(): IterableIterator<FunctionState> {
    for (const fn of this.#byName.values()) {
      if (fn.idle) this.#byName.delete(fn.name);
      else yield fn;
    }
  }

  get size(): number {
    return this.#byName.size;
  }
}
