// Engine events. Each fires after the change it reports has committed, so a test can await one and
// assert at once. Emitting costs nothing when nobody listens.

import { EventEmitter } from 'node:events';
import type { AttemptRow, Evidence, OutcomeRow, QuarantineRow } from '../storage/types.js';
import type { Job } from './job.js';
import type { StuckAttempt, Worker } from './worker.js';

export interface EngineEvents {
  /** A new job was accepted (durable ones: after their insert committed). */
  'job:created': [job: Job];
  /** A job became runnable (new, due, or retried after backoff). */
  'job:queued': [job: Job];
  'attempt:started': [job: Job, attempt: AttemptRow];
  'attempt:ended': [job: Job, attempt: AttemptRow];
  'job:completed': [job: Job];
  'job:retry': [job: Job, runAt: number];
  'job:quarantined': [entry: QuarantineRow];
  /** A worker sent WORK_STATUS (nothing is stored for it, so nothing to wait for). */
  'job:progress': [job: Job];
  /** A job ended for good: completed, failed, expired or quarantined (after its outcome row committed). */
  'job:finished': [outcome: OutcomeRow];
  /** A late report from a worker for an attempt that had already ended, ignored. */
  'report:ignored': [handle: string, worker: string, packet: string];
  /** A worker's attempt timed out and the worker did not answer for it: it gets no job until it does. */
  'worker:stuck': [worker: Worker, stuck: StuckAttempt];
  /** Evidence reached an attempt after it ended (a stuck worker's death, reported by its supervisor). */
  'late:evidence': [jobId: number, n: number, evidence: Evidence];
  /** A stuck worker answered for every timed-out attempt, or disconnected. */
  'worker:unstuck': [worker: Worker, how: 'answered' | 'disconnected'];
}

/**
 * Events that report a stored change: the engine emits them only once that change has committed (at once
 * for a foreground job, which is not stored). The others report memory alone.
 */
export type CommittedEvent =
  | 'job:created'
  | 'attempt:started'
  | 'attempt:ended'
  | 'job:completed'
  | 'job:retry'
  | 'job:quarantined'
  | 'job:finished'
  | 'late:evidence';
export type LiveEvent = Exclude<keyof EngineEvents, CommittedEvent>;

export class TypedEmitter<E extends { [K in keyof E]: unknown[] }> extends EventEmitter {
  override emit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    return super.emit(event, ...args);
  }
  override on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.on(event, listener as (...a: unknown[]) => void);
  }
  override once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.once(event, listener as (...a: unknown[]) => void);
  }
  override off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return super.off(event, listener as (...a: unknown[]) => void);
  }
}
