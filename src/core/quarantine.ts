// Operators' view of the quarantine (the dead-letter queue): list, inspect, requeue, edit, purge.
// Nothing leaves quarantine except through here (docs/architecture.md, Vocabulary: quarantine).

import type { Logger } from 'pino';
import { ErrorCode, LazaretError } from '../errors.js';
import type { StorageAdapter } from '../storage/adapter.js';
import type { HistoryEntry, JobRow, QuarantineFilter, QuarantinePage, QuarantineRow, QuarantineSummary } from '../storage/types.js';
import { SERVER_ACTOR, type Actor } from './history.js';
import type { Clock } from './clock.js';

export interface QuarantineHost {
  readonly store: StorageAdapter;
  readonly clock: Clock;
  /** Commits what is staged, so a listing sees every quarantine so far. */
  flush(): Promise<void>;
  /** An entry made in memory whose write has not committed yet. */
  unsavedQuarantine(id: number): QuarantineRow | undefined;
  /** Counts rows the store just took out of quarantine into their queues. */
  requeued(rows: readonly JobRow[]): JobRow[];
}

export const MAX_PAGE = 1000;

export class Quarantine {
  readonly #host: QuarantineHost;
  readonly #log: Logger;

  constructor(host: QuarantineHost, log: Logger) {
    this.#host = host;
    this.#log = log;
  }

  /**
   * A job's earlier lives and who requeued, edited or purged it, oldest first (also once it left
   * quarantine). No flush: history is written by the operator's actions themselves, never staged.
   */
  history(jobId: number): Promise<HistoryEntry[]> {
    return this.#host.store.historyFind(jobId);
  }

  async list(filter: QuarantineFilter, page: QuarantinePage): Promise<{ entries: QuarantineSummary[]; total: number }> {
    await this.#host.flush();
    const limit = Math.min(Math.max(page.limit, 1), MAX_PAGE);
    const [entries, total] = await Promise.all([this.#host.store.quarantineList(filter, { ...page, limit }), this.#host.store.quarantineCount(filter)]);
    return { entries, total };
  }

  /** Entries stored in quarantine (what the next group commit brings is not counted yet). */
  size(): Promise<number> {
    return this.#host.store.quarantineCount({});
  }

  /** Entries per function, for the status table. */
  async countByFunction(): Promise<Record<string, number>> {
    await this.#host.flush();
    return this.#host.store.quarantineCountByFunction();
  }

  async get(id: number): Promise<QuarantineRow> {
    await this.#host.flush();
    // An entry whose write waits on a locked store is shown from memory rather than answered 404.
    const entry = (await this.#host.store.quarantineGet(id)) ?? this.#host.unsavedQuarantine(id);
    if (!entry) throw notFound(id);
    return entry;
  }

  /**
   * Back to the queue with a fresh budget. An empty filter is refused: say `all` explicitly. The life that
   * ended is kept in the job's history, stamped with `by`.
   */
  async requeue(filter: QuarantineFilter, all = false, by: Actor = SERVER_ACTOR): Promise<JobRow[]> {
    if (!all && isEmpty(filter)) {
      throw new LazaretError(ErrorCode.BAD_REQUEST, 'Name the entries to requeue (ids or filters), or ask for all of them explicitly');
    }
    await this.#host.flush();
    const rows = await this.#host.store.quarantineRequeue(filter, this.#host.clock.now(), { ...by, at: this.#host.clock.now() });
    const jobs = this.#host.requeued(rows);
    this.#log.info({ count: jobs.length, filter, by }, 'quarantined jobs requeued by an operator');
    return jobs;
  }

  /** Replaces the payload (the fix), then requeues the job. */
  async edit(id: number, payload: Buffer, by: Actor = SERVER_ACTOR): Promise<JobRow> {
    await this.#host.flush();
    if (!(await this.#host.store.quarantineUpdatePayload(id, payload, { ...by, at: this.#host.clock.now() }))) throw notFound(id);
    const [job] = await this.requeue({ ids: [id] }, false, by);
    if (!job) throw notFound(id);
    return job;
  }

  async purge(filter: QuarantineFilter, all = false, by: Actor = SERVER_ACTOR): Promise<number> {
    if (!all && isEmpty(filter)) {
      throw new LazaretError(ErrorCode.BAD_REQUEST, 'Name the entries to purge (ids, --older-than or filters), or ask for all of them explicitly');
    }
    await this.#host.flush();
    const n = await this.#host.store.quarantinePurge(filter, { ...by, at: this.#host.clock.now() });
    this.#log.info({ count: n, filter, by }, 'quarantined jobs purged by an operator');
    return n;
  }
}

function isEmpty(f: QuarantineFilter): boolean {
  return f.function === undefined && f.reason === undefined && f.since === undefined && f.before === undefined && (f.ids === undefined || f.ids.length === 0);
}

function notFound(id: number): LazaretError {
  return new LazaretError(ErrorCode.NOT_FOUND, `No quarantined job with id ${id}`, { hint: 'lazaret dlq list shows the ids' });
}
