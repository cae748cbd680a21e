// A job's lives. A requeue or purge keeps the quarantine entry's life (the store does it in the same
// transaction); the last life of a requeued job is kept here when it finishes, since a completed job's
// attempts are deleted with it. The jobs followed are those requeued by this run and, at start, every
// stored job that has history (a requeue before a restart). The last life is written after the commit
// that finished the job: a crash between the two loses its attempts, not the earlier lives.

import type { Logger } from 'pino';
import type { StorageAdapter } from '../storage/adapter.js';
import type { AuditStamp, HistoryEntry, OutcomeRow } from '../storage/types.js';
import type { Clock } from './clock.js';
import type { Job } from './job.js';

/** Who asked, without the time (the store stamps it when the change happens). */
export type Actor = Omit<AuditStamp, 'at'>;

export const SERVER_ACTOR: Actor = { actor: 'server', client: null, peer: null };

export interface HistoryHost {
  readonly store: StorageAdapter;
  readonly clock: Clock;
  on(event: 'job:finished', fn: (outcome: OutcomeRow) => void): unknown;
  off(event: 'job:finished', fn: (outcome: OutcomeRow) => void): unknown;
}

export class JobHistory {
  readonly #host: HistoryHost;
  readonly #log: Logger;
  /** Requeued jobs still live, by id; the engine holds them anyway. */
  readonly #following = new Map<number, Job>();

  constructor(host: HistoryHost, log: Logger) {
    this.#host = host;
    this.#log = log;
  }

  /** Keeps the life these requeued jobs now start, once it ends other than in quarantine. */
  follow(jobs: readonly Job[]): void {
    // Listening costs an outcome row per finished job, so only while there is something to follow.
    if (this.#following.size === 0 && jobs.length > 0) this.#host.on('job:finished', this.#onFinished);
    for (const job of jobs) this.#following.set(job.id, job);
  }

  find(jobId: number): Promise<HistoryEntry[]> {
    return this.#host.store.historyFind(jobId);
  }

  close(): void {
    this.#following.clear();
    this.#host.off('job:finished', this.#onFinished);
  }

  readonly #onFinished = (outcome: OutcomeRow): void => {
    const job = this.#following.get(outcome.id);
    if (job === undefined) return;
    this.#following.delete(outcome.id);
    if (this.#following.size === 0) this.#host.off('job:finished', this.#onFinished);
    // Quarantined again: the entry holds this life, and a later requeue or purge keeps it.
    if (outcome.state === 'quarantined' || outcome.state === 'expired') return;
    const attempts = job.current === null ? job.history : [...job.history, job.current];
    const life = { end: outcome.state, detail: null, endedAt: outcome.finishedAt, attempts };
    this.#host.store
      .historyAdd([{ jobId: outcome.id, at: outcome.finishedAt, action: 'finished', ...SERVER_ACTOR, life }])
      .catch((err: unknown) => this.#log.error({ err, handle: outcome.handle }, 'could not keep the last life of a requeued job in its history'));
  };
}
