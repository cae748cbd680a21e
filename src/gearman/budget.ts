// The memory all Gearman connections may hold for packets they have not finished receiving. Each
// connection reserves the declared size of its unfinished packet; small packets always pass, so ordinary
// traffic keeps flowing while large uploads wait their turn.

/** Packets up to this size are never refused by the budget (they are bounded by the connection count). */
export const SMALL_FRAME_BYTES = 64 * 1024;

export class InputBudget {
  readonly limit: number;
  #used = 0;

  /** limit 0 = unlimited. */
  constructor(limit: number) {
    this.limit = limit;
  }

  get used(): number {
    return this.#used;
  }

  /** Takes `bytes` from the budget; false (nothing taken) when a large packet does not fit. */
  reserve(bytes: number): boolean {
    if (this.limit > 0 && bytes > SMALL_FRAME_BYTES && this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}
