// Job ids come from one counter. Blocks of ids are reserved in the store ahead of use, so ids (and so
// handles) are never handed out twice, not even across a crash (README, Where Lazaret differs: B2).

const BLOCK = 100_000;

export class IdAllocator {
  #next = 0;
  #limit = 0;
  /** Stages the new watermark into the next group commit. */
  readonly #reserve: (watermark: number) => void;

  constructor(reserve: (watermark: number) => void) {
    this.#reserve = reserve;
  }

  /** Starts from the first id the store has never handed out. */
  start(next: number): void {
    this.#next = next;
    this.#limit = next + BLOCK;
    this.#reserve(this.#limit);
  }

  next(): number {
    const id = this.#next++;
    // Reserve the next block while half of this one is still unused, well before it is needed.
    if (this.#next > this.#limit - BLOCK / 2) {
      this.#limit += BLOCK;
      this.#reserve(this.#limit);
    }
    return id;
  }
}
