// Group commit: every store change made in one turn of the event loop goes into one transaction,
// and whoever waits on it is answered only after that transaction commits.
//
// A group is made of members: the rows one caller staged before asking committed(). When the group's
// transaction fails for a reason other than the lock, each member is written again on its own, so one
// bad row fails only the caller that staged it. A member that fails on its own is treated by what it
// holds:
// - new jobs and attempt starts only: its promise rejects and the caller undoes them in memory (the
//   client is told the job was not stored, the delivery is given back);
// - anything memory has already acted on (an attempt's end, a quarantine, a completed job's deletion,
//   an outcome): nobody can take those back, so the member is kept and written again with backoff until
//   it succeeds; its promise resolves then. What is still unwritten when the server stops is reported.

import type { StorageAdapter } from '../storage/adapter.js';
import { ErrorCode, isLazaretError } from '../errors.js';
import { batchSize, emptyBatch, type Coalesced, type WriteBatch, type WriteResult } from '../storage/types.js';

type ArrayField = 'insertJobs' | 'startAttempts' | 'endAttempts' | 'releaseJobs' | 'quarantine' | 'deleteJobs' | 'outcomes' | 'lateEvidence' | 'history';
const FIELDS: readonly ArrayField[] = [
  'insertJobs',
  'startAttempts',
  'endAttempts',
  'releaseJobs',
  'quarantine',
  'deleteJobs',
  'outcomes',
  'lateEvidence',
  'history',
];
/** Fields whose rows a caller undoes in memory when told they were not stored. */
const UNDOABLE: ReadonlySet<ArrayField> = new Set(['insertJobs', 'startAttempts']);

type Ends = Record<ArrayField, number>;

interface Member {
  /** Where this member's rows end in each field of the group's batch (they start where the previous ends). */
  ends: Ends;
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Group {
  batch: WriteBatch;
  members: Member[];
}

interface Unsaved {
  batch: WriteBatch;
  member: Member;
}

/** What happened to changes that did not commit with their group; the engine logs it. */
export interface CommitEvents {
  /** Not stored; the caller's promise rejected and memory undoes the change. */
  rejected(err: unknown, batch: WriteBatch): void;
  /** Not stored yet, but memory already acted on it: written again in `retryInMs`. */
  retrying(err: unknown, batch: WriteBatch, retryInMs: number): void;
  /** A change that failed before is stored now. */
  recovered(batch: WriteBatch): void;
  /** New jobs the store did not insert, each with the stored job of the same key it met; told before their callers. */
  coalesced(coalesced: readonly Coalesced[]): void;
  /** The server stops with this change still not stored. */
  abandoned(err: unknown, batch: WriteBatch): void;
}

export const RETRY_FIRST_MS = 100;
export const RETRY_MAX_MS = 5000;

export class GroupCommit {
  readonly #store: StorageAdapter;
  readonly #events: CommitEvents;
  #open: Group | null = null;
  #writing: Promise<void> | null = null;
  #scheduled = false;
  readonly #unsaved: Unsaved[] = [];
  #lastError: unknown = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #retryDelay = RETRY_FIRST_MS;
  #retrying: Promise<void> | null = null;

  constructor(store: StorageAdapter, events: CommitEvents) {
    this.#store = store;
    this.#events = events;
  }

  /** The batch being filled now; changes made to it commit together. */
  stage(): WriteBatch {
    return this.#current().batch;
  }

  /**
   * Resolves when the changes staged since the previous call have committed (with nothing staged since,
   * the previous call's promise); rejects if they were refused.
   */
  committed(): Promise<void> {
    const group = this.#current();
    const last = group.members[group.members.length - 1];
    const ends = endsOf(group.batch);
    if (last !== undefined && sameEnds(last.ends, ends)) return last.done;
    const member = newMember(ends);
    group.members.push(member);
    return member.done;
  }

  /** Changes memory acted on that are not stored yet (written again in the background). */
  get unsavedCount(): number {
    return this.#unsaved.length;
  }

  /** Commits everything staged, now, and tries the unsaved changes once more. */
  async flush(): Promise<void> {
    while (this.#open !== null || this.#writing !== null) {
      if (this.#writing) await this.#writing.catch(() => undefined);
      else await this.#write();
    }
    if (this.#unsaved.length > 0) await this.#retryUnsaved();
  }

  /** At close, after flush(): what is still unsaved is reported and given up. */
  abandon(): void {
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    for (const u of this.#unsaved.splice(0)) {
      this.#events.abandoned(this.#lastError, u.batch);
      u.member.reject(this.#lastError);
    }
  }

  #current(): Group {
    if (this.#open === null) this.#open = { batch: emptyBatch(), members: [] };
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        if (this.#writing === null) void this.#write();
      });
    }
    return this.#open;
  }

  async #write(): Promise<void> {
    const group = this.#open;
    if (group === null) return;
    this.#open = null;
    const writing = this.#writeGroup(group);
    this.#writing = writing;
    await writing;
    this.#writing = null;
    // Changes staged while we were writing go out now, as the next group.
    if (this.#open !== null && !this.#scheduled) void this.#write();
  }

  async #writeGroup(group: Group): Promise<void> {
    // Rows staged after the last committed() call form a member nobody awaits.
    const ends = endsOf(group.batch);
    const last = group.members[group.members.length - 1];
    if (last === undefined || !sameEnds(last.ends, ends)) group.members.push(newMember(ends));
    try {
      if (batchSize(group.batch) > 0) this.#written(await this.#store.write(group.batch));
      for (const m of group.members) m.resolve();
      return;
    } catch (err) {
      const parts = split(group);
      // Alone, each member would meet the same lock, the same closed or fenced store or a store out of
      // reach: no second try now. And a group whose connection broke may have committed: written again,
      // its new jobs would clash with themselves.
      if (
        parts.length === 1 ||
        isLazaretError(err, ErrorCode.STORE_BUSY) ||
        isLazaretError(err, ErrorCode.STORE_CLOSED) ||
        isLazaretError(err, ErrorCode.STORE_FENCED) ||
        isLazaretError(err, ErrorCode.STORE_UNREACHABLE) ||
        isLazaretError(err, ErrorCode.STORE_CONNECTION_LOST)
      ) {
        for (const p of parts) this.#failed(err, p);
        return;
      }
      for (const p of parts) {
        try {
          if (batchSize(p.batch) > 0) this.#written(await this.#store.write(p.batch));
          p.member.resolve();
        } catch (alone) {
          this.#failed(alone, p);
        }
      }
    }
  }

  #written(result: WriteResult): void {
    if (result.coalesced.length > 0) this.#events.coalesced(result.coalesced);
  }

  #failed(err: unknown, part: Unsaved): void {
    this.#lastError = err;
    if (FIELDS.every((f) => part.batch[f].length === 0)) {
      // A caller that staged nothing of its own waited on the group: it learns it failed, nothing to log.
      part.member.reject(err);
      return;
    }
    const undoable = FIELDS.every((f) => UNDOABLE.has(f) || part.batch[f].length === 0);
    // A closed or fenced store refuses for good: writing again would only fail again.
    if (undoable || isLazaretError(err, ErrorCode.STORE_CLOSED) || isLazaretError(err, ErrorCode.STORE_FENCED)) {
      this.#events.rejected(err, part.batch);
      part.member.reject(err);
      return;
    }
    this.#unsaved.push(part);
    this.#events.retrying(err, part.batch, this.#retryDelay);
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== null || this.#retrying !== null) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      void this.#retryUnsaved();
    }, this.#retryDelay);
    this.#retryTimer.unref();
  }

  /** One pass over the unsaved changes, oldest first; those that fail again wait for the next pass. */
  #retryUnsaved(): Promise<void> {
    this.#retrying ??= (async () => {
      if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
      const pass = this.#unsaved.splice(0);
      const still: Unsaved[] = [];
      for (const u of pass) {
        try {
          this.#written(await this.#store.write(u.batch));
          this.#events.recovered(u.batch);
          u.member.resolve();
        } catch (err) {
          this.#lastError = err;
          still.push(u);
          // The lock is the whole database's: the others would only wait for it again.
          if (isLazaretError(err, ErrorCode.STORE_BUSY)) {
            still.push(...pass.splice(pass.indexOf(u) + 1));
            break;
          }
        }
      }
      this.#unsaved.unshift(...still);
      this.#retryDelay = still.length === 0 ? RETRY_FIRST_MS : Math.min(this.#retryDelay * 2, RETRY_MAX_MS);
      if (still.length > 0) this.#events.retrying(this.#lastError, mergeBatches(still.map((u) => u.batch)), this.#retryDelay);
    })().finally(() => {
      this.#retrying = null;
      if (this.#unsaved.length > 0) this.#scheduleRetry();
    });
    return this.#retrying;
  }
}

function newMember(ends: Ends): Member {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A member nobody awaits must not surface as an unhandled rejection; the events report it.
  done.catch(() => undefined);
  return { ends, done, resolve, reject };
}

function endsOf(b: WriteBatch): Ends {
  return {
    insertJobs: b.insertJobs.length,
    startAttempts: b.startAttempts.length,
    endAttempts: b.endAttempts.length,
    releaseJobs: b.releaseJobs.length,
    quarantine: b.quarantine.length,
    deleteJobs: b.deleteJobs.length,
    outcomes: b.outcomes.length,
    lateEvidence: b.lateEvidence.length,
    history: b.history.length,
  };
}

function sameEnds(a: Ends, b: Ends): boolean {
  return FIELDS.every((f) => a[f] === b[f]);
}

/** Each member's own rows, as a batch of its own. The id watermark goes with every one (it only rises). */
function split(group: Group): Unsaved[] {
  const out: Unsaved[] = [];
  let start: Ends | null = null;
  for (const member of group.members) {
    const batch = emptyBatch();
    for (const f of FIELDS) (batch[f] as unknown[]) = group.batch[f].slice(start?.[f] ?? 0, member.ends[f]);
    batch.idWatermark = group.batch.idWatermark;
    out.push({ batch, member });
    start = member.ends;
  }
  return out;
}

function mergeBatches(batches: readonly WriteBatch[]): WriteBatch {
  const out = emptyBatch();
  for (const b of batches) for (const f of FIELDS) (out[f] as unknown[]).push(...b[f]);
  return out;
}
