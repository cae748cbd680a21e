// Group commit: every store change made in one turn of the event loop goes into one transaction,
// and whoever waits on it is answered only after that transaction commits (DESIGN.md, Conventions).

import type { StorageAdapter } from '../storage/adapter.js';
import { batchSize, emptyBatch, type WriteBatch } from '../storage/types.js';

interface Pending {
  batch: WriteBatch;
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class GroupCommit {
  readonly #store: StorageAdapter;
  readonly #onError: (err: unknown, size: number) => void;
  #open: Pending | null = null;
  #writing: Promise<void> | null = null;
  #scheduled = false;

  constructor(store: StorageAdapter, onError: (err: unknown, size: number) => void) {
    this.#store = store;
    this.#onError = onError;
  }

  /** The batch being filled now; changes made to it commit together. */
  stage(): WriteBatch {
    return this.#current().batch;
  }

  /** Resolves when the changes staged so far have committed; rejects if that commit failed. */
  committed(): Promise<void> {
    return this.#current().done;
  }

  /** Commits everything staged, now; resolves when nothing is left to write. */
  async flush(): Promise<void> {
    while (this.#open !== null || this.#writing !== null) {
      if (this.#writing) await this.#writing.catch(() => undefined);
      else await this.#write();
    }
  }

  #current(): Pending {
    if (this.#open === null) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // A batch nobody awaits must not surface as an unhandled rejection; onError reports it.
      done.catch(() => undefined);
      this.#open = { batch: emptyBatch(), done, resolve, reject };
    }
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
    const pending = this.#open;
    if (pending === null) return;
    this.#open = null;
    const size = batchSize(pending.batch);
    const writing = (async () => {
      try {
        if (size > 0) await this.#store.write(pending.batch);
        pending.resolve();
      } catch (err) {
        this.#onError(err, size);
        pending.reject(err);
      }
    })();
    this.#writing = writing;
    await writing;
    this.#writing = null;
    // Changes staged while we were writing go out now, as the next group.
    if (this.#open !== null && !this.#scheduled) void this.#write();
  }
}
