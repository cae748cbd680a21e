// Engine-side state of one worker connection.

import type { FunctionState } from './functions.js';
import type { Job, WorkerConn } from './job.js';

export interface Ability {
  fn: FunctionState;
  /** CAN_DO_TIMEOUT in ms, or null. */
  timeout: number | null;
}

const RECENT_LIMIT = 256;

export class Worker {
  readonly conn: WorkerConn;
  /** Registered functions in registration order. */
  readonly abilities = new Map<string, Ability>();
  /** Jobs assigned to this worker, by handle, in assignment order. */
  readonly held = new Map<string, Job>();
  sleeping = false;
  /** The function a NOOP was sent for, until the next grab. */
  wokenFor: FunctionState | null = null;
  /** Round-robin start among the worker's functions, so one busy function cannot starve the others. */
  turn = 0;
  /** Handles whose attempt on this worker ended (result, timeout, cancel); late reports are ignored. */
  #recent = new Set<string>();
  #older = new Set<string>();

  constructor(conn: WorkerConn) {
    this.conn = conn;
  }

  /** PRE_SLEEP with nothing to do: wait for a NOOP from any of its functions. */
  sleep(): void {
    this.sleeping = true;
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
