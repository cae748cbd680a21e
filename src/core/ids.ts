// Job ids come from one counter. Blocks of ids are reserved in the store ahead of use, so ids (and so
// handles) are never handed out twice, not even across a crash (README, Where Lazaret differs: B2).
//
// The node stages a watermark (ids below it are taken) into the next group commit whenever it starts a
// block. A store of one node (SQLite): the next block simply follows. A store several nodes share
// (capabilities.shared, PostgreSQL): each block comes from store.idsNext(), whose answer has
// `capabilities.idBlock` ids after it that no other node gets; the next block is asked for while half of
// the current one is left, so a submission never waits for the store. An answer below the block in use
// (the store has not committed its watermark yet) is not used: the next id taken asks again.

import { ErrorCode, LazaretError } from '../errors.js';
import type { StorageCapabilities } from '../storage/adapter.js';

const BLOCK = 100_000;

/** Where a shared store's blocks come from (the store itself). */
export interface IdSource {
  readonly capabilities: StorageCapabilities;
  idsNext(): Promise<number>;
}

export class IdAllocator {
  #next = 0;
  #limit = 0;
  /** Stages the new watermark into the next group commit. */
  readonly #reserve: (watermark: number) => void;
  /** Set when the store is shared: blocks come from its idsNext(). */
  readonly #source: IdSource | null;
  /** Ids of a shared block, from one idsNext() answer. */
  readonly #block: number;
  /** The next shared block, once the store has answered; null while none is ready. */
  #spare: number | null = null;
  #asking = false;
  #askFailed: unknown = null;

  /**
   * `source`: the store, read for `capabilities.shared`; a store that is not shared keeps the watermark
   * behaviour whatever it is given.
   */
  constructor(reserve: (watermark: number) => void, source?: IdSource) {
    this.#reserve = reserve;
    this.#source = source?.capabilities.shared === true ? source : null;
    const storeBlock = source?.capabilities.idBlock;
    this.#block = storeBlock === undefined ? BLOCK : Math.max(1, Math.min(BLOCK, Math.floor(storeBlock)));
  }

  /** Starts from the first id the store has never handed out (with a shared store: the start of a block it reserved for this node). */
  start(next: number): void {
    this.#next = next;
    this.#limit = next + (this.#source === null ? BLOCK : this.#block);
    this.#reserve(this.#limit);
  }

  next(): number {
    if (this.#source !== null) return this.#nextShared();
    const id = this.#next++;
    // Reserve the next block while half of this one is still unused, well before it is needed.
    if (this.#next > this.#limit - BLOCK / 2) {
      this.#limit += BLOCK;
      this.#reserve(this.#limit);
    }
    return id;
  }

  #nextShared(): number {
    if (this.#next >= this.#limit) {
      const spare = this.#spare;
      if (spare === null) {
        this.#ask();
        throw new LazaretError(
          ErrorCode.STORE_BUSY,
          `No job id left: the store has not answered the reservation of the next block of ids yet${this.#askFailed === null ? '' : ` (it failed: ${String(this.#askFailed)})`}.`,
          { hint: 'Submit again shortly; check that the store is reachable.', cause: this.#askFailed ?? undefined },
        );
      }
      this.#spare = null;
      this.#next = spare;
      this.#limit = spare + this.#block;
      this.#reserve(this.#limit);
    }
    const id = this.#next++;
    if (this.#spare === null && this.#next > this.#limit - this.#block / 2) this.#ask();
    return id;
  }

  #ask(): void {
    const source = this.#source;
    if (source === null || this.#asking || this.#spare !== null) return;
    this.#asking = true;
    source.idsNext().then(
      (start) => {
        this.#asking = false;
        this.#askFailed = null;
        if (start >= this.#limit) this.#spare = start;
      },
      (err: unknown) => {
        // Asked again by the next id taken past the half; meanwhile the current block still serves.
        this.#asking = false;
        this.#askFailed = err;
      },
    );
  }
}
