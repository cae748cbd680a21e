// Time comes from a Clock only, so tests can move it: the real one is src/clock.ts, the one tests move is
// ManualClock below.

import type { Clock, TimerRef } from '../clock.js';

export { systemClock, type Clock, type TimerRef } from '../clock.js';

/** A clock that only moves when told to; timers fire in time order during advance(). */
export class ManualClock implements Clock {
  #now: number;
  #timers: { at: number; seq: number; fn: () => void; cancelled: boolean }[] = [];
  #seq = 0;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(ms: number, fn: () => void): TimerRef {
    const timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false };
    this.#timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Moves time forward by ms, firing due timers in order (each sees now() = its due time). */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      this.#timers = this.#timers.filter((t) => !t.cancelled);
      this.#timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.#timers[0];
      if (next === undefined || next.at > target) break;
      this.#timers.shift();
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = target;
  }

  /** Number of timers still armed. */
  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }
}
