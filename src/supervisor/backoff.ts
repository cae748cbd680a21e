// Restart delays: exponential with full jitter (a random delay between 0 and a ceiling that doubles
// with each quick death), so copies that die together do not come back in lockstep.

export interface BackoffSettings {
  initialMs: number;
  maxMs: number;
}

export class Backoff {
  readonly #settings: BackoffSettings;
  readonly #random: () => number;
  #failures = 0;

  constructor(settings: BackoffSettings, random: () => number = Math.random) {
    this.#settings = settings;
    this.#random = random;
  }

  /** The ceiling the next delay is drawn under. */
  get ceilingMs(): number {
    // 2 ** 40 is far past any max; stopping there keeps the number finite after years of restarts.
    return Math.min(this.#settings.maxMs, this.#settings.initialMs * 2 ** Math.min(this.#failures, 40));
  }

  /** The delay before the next start; each call raises the ceiling for the one after. */
  next(): number {
    const delay = Math.round(this.#random() * this.ceilingMs);
    this.#failures++;
    return delay;
  }

  /** After a stable run the next death is treated as the first. */
  reset(): void {
    this.#failures = 0;
  }
}
