// Bounds the jobs a worker runs at once over all its connections.

export class Semaphore {
  readonly size: number;
  #free: number;
  readonly #waiters: ((ok: boolean) => void)[] = [];

  constructor(size: number) {
    this.size = size;
    this.#free = size;
  }

  /** Resolves true with a permit, or false when cancelAll() ran first. */
  acquire(): Promise<boolean> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next) next(true);
    else this.#free++;
  }

  cancelAll(): void {
    for (const w of this.#waiters.splice(0)) w(false);
  }
}
