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
  readonly #recent = new Set<string>();

  constructor(conn: WorkerConn) {
    this.conn = conn;
  }

  rememberEnded(handle: string): void {
    this.#recent.add(handle);
    if (this.#recent.size > RECENT_LIMIT) {
      const oldest = this.#recent.values().next().value;
      if (oldest !== undefined) this.#recent.delete(oldest);
    }
  }

  /** The handle's attempt on this worker already ended: what it says now is a late report. */
  endedRecently(handle: string): boolean {
    return this.#recent.has(handle);
  }
}
