// Results and outcomes of finished jobs (docs/http-api.md): kept `results.retention` after the job ended, in the
// same group commit as the job's deletion or quarantine, then pruned in small batches.

import type { Logger } from 'pino';
import type { StorageAdapter } from '../storage/adapter.js';
import type { ImpactQuery, ImpactRow, OutcomeFilter, OutcomeRow, OutcomeState } from '../storage/types.js';
import type { Clock, TimerRef } from './clock.js';
import { dueAt } from './functions.js';
import type { Job } from './job.js';

export const DEFAULT_RETENTION_MS = 24 * 3_600_000;
/** How often expired rows are pruned, and how many go per transaction. */
const PRUNE_EVERY_MS = 60_000;
const PRUNE_BATCH = 500;

export interface ResultsHost {
  readonly store: StorageAdapter;
  readonly clock: Clock;
  /** Commits what is staged, so a lookup sees every job that has finished so far. */
  flush(): Promise<void>;
}

/** The row a job leaves behind when it ends. */
export function outcomeRow(job: Job, state: OutcomeState, result: Buffer | null, now: number): OutcomeRow {
  const startedAt = job.history[0]?.startedAt ?? null;
  return {
    id: job.id,
    handle: job.handle,
    function: job.fn.name,
    unique: job.unique,
    priority: job.priority,
    tags: job.tags,
    submittedAt: job.submittedAt,
    runAt: job.runAt,
    startedAt,
    finishedAt: now,
    waitMs: job.waitMs ?? dueWait(job, now),
    state,
    attempts: job.attempts,
    progress: job.numerator === 0 && job.denominator === 0 ? null : { numerator: job.numerator, denominator: job.denominator },
    result,
  };
}

/** How long a job that has not started yet has waited since it was due. */
export function dueWait(job: Job, now: number): number {
  return Math.max(0, now - dueAt(job));
}

/**
 * The job id a handle carries: every handle Lazaret gives out ends with it (`H:host:123`), the prefix
 * of the node that made it whatever that was.
 */
export function idOfHandle(handle: string): number | null {
  const digits = /:([1-9][0-9]{0,15})$/.exec(handle)?.[1];
  const id = digits === undefined ? NaN : Number(digits);
  return Number.isSafeInteger(id) ? id : null;
}

export class Results {
  readonly retentionMs: number;
  readonly #host: ResultsHost;
  readonly #log: Logger;
  #timer: TimerRef | null = null;
  #pruning = false;

  constructor(host: ResultsHost, retentionMs: number, log: Logger) {
    this.#host = host;
    this.retentionMs = retentionMs;
    this.#log = log;
  }

  /** Whether the job's ending is stored: background jobs always, foreground ones when tagged (impact). */
  keeps(job: Job): boolean {
    return this.retentionMs > 0 && (job.durable || job.tags.length > 0);
  }

  start(): void {
    if (this.retentionMs <= 0 || this.#timer !== null) return;
    this.#timer = this.#host.clock.setTimer(PRUNE_EVERY_MS, () => {
      this.#timer = null;
      void this.prune().finally(() => this.start());
    });
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = null;
  }

  /** Deletes rows past their retention (finished jobs, and the history of jobs that are gone), PRUNE_BATCH per transaction so the job path is never held up long. */
  async prune(): Promise<number> {
    if (this.#pruning) return 0;
    this.#pruning = true;
    let total = 0;
    try {
      const before = this.#host.clock.now() - this.retentionMs;
      for (const prune of [this.#host.store.outcomesPrune, this.#host.store.historyPrune]) {
        for (;;) {
          const n = await prune.call(this.#host.store, before, PRUNE_BATCH);
          total += n;
          if (n < PRUNE_BATCH) break;
          // Let group commits in between the batches.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
    } catch (err) {
      this.#log.error({ err }, 'pruning finished jobs past their retention failed; will try again');
    } finally {
      this.#pruning = false;
    }
    return total;
  }

  /** Finished jobs still within their retention, newest first. */
  async find(filter: Omit<OutcomeFilter, 'finishedSince'>): Promise<OutcomeRow[]> {
    if (this.retentionMs <= 0) return [];
    await this.#host.flush();
    return this.#host.store.outcomesFind({ ...filter, finishedSince: this.#host.clock.now() - this.retentionMs });
  }

  async get(handle: string): Promise<OutcomeRow | null> {
    const id = idOfHandle(handle);
    return id === null ? null : ((await this.find({ id, handle, limit: 1 }))[0] ?? null);
  }

  async impact(query: ImpactQuery): Promise<ImpactRow[]> {
    if (this.retentionMs <= 0) return [];
    await this.#host.flush();
    const since = Math.max(query.since, this.#host.clock.now() - this.retentionMs);
    return this.#host.store.outcomesImpact({ ...query, since });
  }
}
