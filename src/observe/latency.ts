// Queue wait and run time per function over a sliding window (default the last 5 minutes), for the p95
// checks of /health. Fixed memory per function and no allocation per sample: each window slot is a
// histogram with logarithmic buckets, reused when the window moves past it.

/** Bucket i holds values up to 2^(i/2) ms: steps of about 41%, from 1 ms to about 34 days. */
const BUCKETS = 64;
const bound = (i: number): number => 2 ** (i / 2);

function bucketOf(ms: number): number {
  if (ms <= 1) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(2 * Math.log2(ms)));
}

export type LatencyKind = 'wait' | 'run';

export interface Percentile {
  /** Upper bound of the bucket the percentile falls in, ms. */
  ms: number;
  /** Samples in the window. */
  samples: number;
}

class Series {
  /** Per slot: BUCKETS wait counters, then BUCKETS run counters. */
  readonly counts: Uint32Array[];
  /** The slot number (time / slotMs) each ring entry holds, or -1. */
  readonly slotOf: Float64Array;

  constructor(slots: number) {
    this.counts = Array.from({ length: slots }, () => new Uint32Array(2 * BUCKETS));
    this.slotOf = new Float64Array(slots).fill(-1);
  }
}

export class LatencyWindow {
  readonly windowMs: number;
  readonly #slotMs: number;
  readonly #slots: number;
  readonly #byFn = new Map<string, Series>();

  constructor(windowMs = 5 * 60_000, slots = 30) {
    this.windowMs = windowMs;
    this.#slots = slots;
    this.#slotMs = windowMs / slots;
  }

  /** Drops the series of functions that keep() refuses. */
  retain(keep: (fn: string) => boolean): void {
    for (const fn of this.#byFn.keys()) if (!keep(fn)) this.#byFn.delete(fn);
  }

  record(fn: string, kind: LatencyKind, ms: number, now: number): void {
    let series = this.#byFn.get(fn);
    if (series === undefined) {
      series = new Series(this.#slots);
      this.#byFn.set(fn, series);
    }
    const slot = Math.floor(now / this.#slotMs);
    const i = slot % this.#slots;
    const counts = series.counts[i]!;
    if (series.slotOf[i] !== slot) {
      counts.fill(0);
      series.slotOf[i] = slot;
    }
    counts[(kind === 'wait' ? 0 : BUCKETS) + bucketOf(ms)]!++;
  }

  /** The q-quantile (0.95 = p95) of the samples of the last windowMs, or null without samples. */
  quantile(fn: string, kind: LatencyKind, q: number, now: number): Percentile | null {
    const series = this.#byFn.get(fn);
    if (series === undefined) return null;
    const current = Math.floor(now / this.#slotMs);
    const offset = kind === 'wait' ? 0 : BUCKETS;
    const merged = new Float64Array(BUCKETS);
    let samples = 0;
    for (let i = 0; i < this.#slots; i++) {
      const slot = series.slotOf[i]!;
      if (slot < 0 || current - slot >= this.#slots) continue;
      const counts = series.counts[i]!;
      for (let b = 0; b < BUCKETS; b++) {
        merged[b]! += counts[offset + b]!;
        samples += counts[offset + b]!;
      }
    }
    if (samples === 0) return null;
    const rank = Math.ceil(q * samples);
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += merged[b]!;
      if (seen >= rank) return { ms: Math.round(bound(b)), samples };
    }
    return { ms: Math.round(bound(BUCKETS - 1)), samples };
  }
}
