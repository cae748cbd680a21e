// One timer for the earliest of many times that the store keeps (scheduled jobs falling due,
// deadlines of jobs no window holds): armed for the earliest time asked, fired once, armed again by
// whoever learns the next time. A time already past fires on the next turn of the event loop.

import type { Clock, TimerRef } from './clock.js';

export class Wakeup {
  readonly #clock: Clock;
  readonly #fire: () => void;
  #timer: TimerRef | null = null;
  #at: number | null = null;

  constructor(clock: Clock, fire: () => void) {
    this.#clock = clock;
    this.#fire = fire;
  }

  /** Fires at `at` unless already armed for that time or earlier; null does nothing. */
  arm(at: number | null): void {
    if (at === null) return;
    if (this.#timer !== null && this.#at !== null && this.#at <= at) return;
    this.cancel();
    this.#at = at;
    const fire = (): void => {
      this.#timer = null;
      this.#at = null;
      this.#fire();
    };
    const delay = at - this.#clock.now();
    if (delay > 0) {
      this.#timer = this.#clock.setTimer(delay, fire);
      return;
    }
    const immediate = setImmediate(fire);
    this.#timer = { cancel: () => clearImmediate(immediate) };
  }

  cancel(): void {
    this.#timer?.cancel();
    this.#timer = null;
    this.#at = null;
  }
}
