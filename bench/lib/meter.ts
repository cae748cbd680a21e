// Counts events inside a measuring window that opens after a warm-up (the server's JIT and caches settle)
// and closes after a fixed duration; a run that finishes early is measured up to its last event.

import { performance } from 'node:perf_hooks';

export interface Rate {
  /** Events counted in the measuring window. */
  count: number;
  seconds: number;
  perSec: number;
}

export class Meter {
  readonly start = performance.now();
  readonly from: number;
  readonly to: number;
  total = 0;
  counted = 0;
  last = 0;

  constructor(warmupMs: number, durationMs: number) {
    this.from = this.start + warmupMs;
    this.to = this.from + durationMs;
  }

  /** Records one event at now; returns its time. */
  hit(now = performance.now()): number {
    this.total++;
    this.last = now;
    if (now >= this.from && now <= this.to) this.counted++;
    return now;
  }

  /** The window has closed: stop issuing work. */
  get over(): boolean {
    return performance.now() >= this.to;
  }

  inWindow(now: number): boolean {
    return now >= this.from && now <= this.to;
  }

  msLeft(): number {
    return Math.max(0, this.to - performance.now());
  }

  rate(): Rate {
    if (this.last >= this.to) return perSec(this.counted, this.to - this.from);
    if (this.counted > 0 && this.last > this.from) return perSec(this.counted, this.last - this.from);
    // Finished inside the warm-up: measure the whole run.
    return perSec(this.total, this.last - this.start);
  }
}

function perSec(count: number, ms: number): Rate {
  const seconds = ms / 1000;
  return { count, seconds, perSec: seconds > 0 ? count / seconds : 0 };
}

/** Value at quantile q (0..1) of an ascending array; nearest-rank. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}
