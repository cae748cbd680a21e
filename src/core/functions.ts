// Per-function queues (one FIFO per priority) and the counters the admin protocol reports.

import type { Priority } from '../storage/types.js';
import { Deque } from './deque.js';
import type { Job } from './job.js';
import type { Worker } from './worker.js';

export class FunctionState {
  readonly name: string;
  /** Runnable jobs per priority. Jobs that leave early stay in place, marked, and are skipped. */
  readonly queues: [Deque<Job>, Deque<Job>, Deque<Job>] = [new Deque(), new Deque(), new Deque()];
  /** Live runnable jobs per priority. */
  readonly queued: [number, number, number] = [0, 0, 0];
  /** Jobs waiting for their run-at time, per priority. */
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

  constructor(name: string) {
    this.name = name;
  }

  get runnable(): number {
    return this.queued[0] + this.queued[1] + this.queued[2];
  }

  /** Every job of the function: pending, queued, scheduled and running (admin `status` TOTAL). */
  get total(): number {
    return this.runnable + this.scheduled[0] + this.scheduled[1] + this.scheduled[2] + this.running + this.pending;
  }

  enqueue(job: Job): void {
    this.queues[job.priority].push(job);
    this.queued[job.priority]++;
  }

  /** Takes the oldest live job of the given priority, skipping the ones that left. */
  take(priority: Priority): Job | undefined {
    if (this.queued[priority] === 0) return undefined;
    const q = this.queues[priority];
    for (;;) {
      const job = q.shift();
      if (job === undefined) return undefined;
      if (job.state === 'queued' && job.fn === this) {
        this.queued[priority]--;
        return job;
      }
    }
  }

  /** When the longest-waiting runnable job became runnable, or null when none is. */
  oldestQueuedAt(): number | null {
    let oldest: number | null = null;
    for (let p = 0; p < 3; p++) {
      if (this.queued[p] === 0) continue;
      const job = this.queues[p]!.first((j) => j.state === 'queued' && j.fn === this);
      if (job && (oldest === null || job.queuedAt < oldest)) oldest = job.queuedAt;
    }
    return oldest;
  }

  /** Bookkeeping for a queued job that leaves without being taken (cancel, expiry, abandon). */
  forget(job: Job): void {
    this.queued[job.priority]--;
  }

  /** Wakes sleeping workers: as many as there are runnable jobs nobody was woken for (B18 improved). */
  wakeSleepers(): void {
    while (this.runnable > this.woken && this.sleepers.size > 0) {
      const w = this.sleepers.values().next().value as Worker;
      w.wakeFor(this);
    }
  }
}

/** When a job became runnable: submitted, or its run-at time if later. */
export function dueAt(job: Job): number {
  return Math.max(job.submittedAt, job.runAt ?? 0);
}

export class FunctionRegistry {
  readonly #byName = new Map<string, FunctionState>();

  get(name: string): FunctionState | undefined {
    return this.#byName.get(name);
  }

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

  all(): IterableIterator<FunctionState> {
    return this.#byName.values();
  }

  get size(): number {
    return this.#byName.size;
  }
}
