// Engine-side state of one worker connection.

import type { FunctionState } from './functions.js';
import type { Job, WorkerConn } from './job.js';

export interface Ability {
  fn: FunctionState;
  /** CAN_DO_TIMEOUT in ms, or null. */
  timeout: number | null;
}

const RECENT_LIMIT = 256;

/** An attempt that ran past its timeout while this worker held it, and that the worker never answered. */
export interface StuckAttempt {
  handle: string;
  jobId: number;
  n: number;
  fn: FunctionState;
  startedAt: number;
  timedOutAt: number;
}

export class Worker {
  readonly conn: WorkerConn;
  /** Registered functions in registration order. */
  readonly abilities = new Map<string, Ability>();
  /** Jobs assigned to this worker, by handle, in assignment order. */
  readonly held = new Map<string, Job>();
  /**
   * Handles of held jobs whose JOB_ASSIGN has been written to the connection. A held job not in here
   * waits for its attempt to be stored (or its worker's process to be found): if the worker leaves
   * meanwhile, it never saw the job, so the job cannot have killed it.
   */
  readonly sent = new Set<string>();
  sleeping = false;
  /** The function a NOOP was sent for, until the next grab. */
  wokenFor: FunctionState | null = null;
  /** Round-robin start among the worker's functions, so one busy function cannot starve the others. */
  turn = 0;
  /**
   * Timed-out attempts it has not answered, by handle. While any is here the worker is stuck: it gets no
   * job and does not count as serving its functions, until it answers for them or disconnects.
   */
  readonly stuck = new Map<string, StuckAttempt>();
  /** Handles whose attempt on this worker ended (result, timeout, cancel); late reports are ignored. */
  #recent = new Set<string>();
  #older = new Set<string>();

  constructor(conn: WorkerConn) {
    this.conn = conn;
  }

  /** PRE_SLEEP with nothing to do: wait for a NOOP from any of its functions. */
  sleep(): void {
    this.sleeping = true;
    // A stuck worker waits outside the sleeper lists: a NOOP would only bring it back for a NO_JOB.
    if (this.stuck.size > 0) return;
    for (const { fn } of this.abilities.values()) fn.sleepers.add(this);
  }

  unsleep(): void {
    if (!this.sleeping) return;
    this.sleeping = false;
    for (const { fn } of this.abilities.values()) fn.sleepers.delete(this);
  }

  /** Sends a NOOP on behalf of fn, which counts it until the worker grabs. */
  wakeFor(fn: FunctionState): void {
    this.unsleep();
    this.clearWoken();
    this.wokenFor = fn;
    fn.woken++;
    this.conn.wake();
  }

  /** The worker grabbed (or left): it no longer counts as woken; returns the function it was woken for. */
  clearWoken(): FunctionState | null {
    const fn = this.wokenFor;
    if (fn) {
      fn.woken--;
      this.wokenFor = null;
    }
    return fn;
  }

  get isStuck(): boolean {
    return this.stuck.size > 0;
  }

  rememberEnded(handle: string): void {
    // Two generations instead of an LRU: cheap, and a handle is remembered for at least RECENT_LIMIT ends.
    if (this.#recent.size >= RECENT_LIMIT) {
      this.#older = this.#recent;
      this.#recent = new Set();
    }
    this.#recent.add(handle);
  }

  /** The handle's attempt on this worker already ended: what it says now is a late report. */
  endedRecently(handle: string): boolean {
    return this.#recent.has(handle) || this.#older.has(handle);
  }
}

/** Workers of fn that may be given its jobs: connected and not stuck (admin `status`, /health). */
export function availableWorkers(fn: FunctionState): number {
  let n = 0;
  for (const w of fn.workers) if (w.stuck.size === 0) n++;
  return n;
}

/** Workers of fn that are stuck. */
export function stuckWorkers(fn: FunctionState): Worker[] {
  return [...fn.workers].filter((w) => w.stuck.size > 0);
}
