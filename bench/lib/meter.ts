// Counts events inside a measuring window that opens after a warm-up (the server's JIT and caches settle)
// and closes after a fixed duration; a run that finishes early is measured up to its last event. It also
// samples CPU time (server process and this load generator) over the same window, and remembers the
// window on the monotonic clock so a CPU profile of the server can be cut to it.

import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';

export interface Rate {
  /** Events counted in the measuring window. */
  count: number;
  seconds: number;
  perSec: number;
  /** CPU used over the window, as a share of one core (1 = one core busy all the time). */
  cpu: { server: number; loadgen: number } | null;
}

interface CpuSample {
  at: number;
  server: number;
  loadgen: number;
}

/** The server process whose CPU time meters sample; set per case. */
let serverPid: number | null = null;
/** Measuring windows of the current case, in microseconds of the monotonic clock (as V8 profiles use). */
let windows: [number, number][] = [];

export function watchServer(pid: number | null): void {
  serverPid = pid;
  windows = [];
}

/** The span from the first window's start to the last one's end, or null. */
export function measuredSpanUs(): [number, number] | null {
  if (windows.length === 0) return null;
  return [Math.min(...windows.map((w) => w[0])), Math.max(...windows.map((w) => w[1]))];
}

const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** CPU seconds (user + system, all threads) a process has used so far, from /proc/PID/stat; null if it is gone. */
export function cpuSecondsOf(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Fields after "(comm)": state is the first; utime and stime are the 12th and 13th (clock ticks, 100/s).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function sample(): CpuSample | null {
  if (serverPid === null) return null;
  const server = cpuSecondsOf(serverPid);
  if (server === null) return null;
  const own = process.cpuUsage();
  return { at: performance.now(), server, loadgen: (own.user + own.system) / 1e6 };
}

export class Meter {
  readonly start = performance.now();
  readonly from: number;
  readonly to: number;
  total = 0;
  counted = 0;
  last = 0;
  #cpuFrom: CpuSample | null = null;
  #cpuTo: CpuSample | null = null;
  #timers: NodeJS.Timeout[] = [];
  #fromUs: number;

  constructor(warmupMs: number, durationMs: number) {
    this.from = this.start + warmupMs;
    this.to = this.from + durationMs;
    this.#fromUs = monotonicUs() + warmupMs * 1000;
    const open = (): void => {
      this.#cpuFrom = sample();
      this.#fromUs = monotonicUs();
    };
    if (warmupMs > 0) this.#timers.push(setTimeout(open, warmupMs));
    else open();
    this.#timers.push(setTimeout(() => this.#close(), warmupMs + durationMs));
  }

  #close(): void {
    if (this.#cpuTo !== null) return;
    this.#cpuTo = sample() ?? { at: performance.now(), server: 0, loadgen: 0 };
    windows.push([this.#fromUs, monotonicUs()]);
    for (const t of this.#timers) clearTimeout(t);
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

  /** Closes the window (if the run ended early) and reports the rate over it. */
  rate(): Rate {
    this.#close();
    const a = this.#cpuFrom;
    const b = this.#cpuTo;
    const wall = a && b ? (b.at - a.at) / 1000 : 0;
    const cpu = a && b && wall > 0.05 ? { server: (b.server - a.server) / wall, loadgen: (b.loadgen - a.loadgen) / wall } : null;
    if (this.total === 0) return { ...perSec(0, this.to - this.from), cpu };
    if (this.last >= this.to) return { ...perSec(this.counted, this.to - this.from), cpu };
    if (this.counted > 0 && this.last > this.from) return { ...perSec(this.counted, this.last - this.from), cpu };
    // Finished inside the warm-up: measure the whole run.
    return { ...perSec(this.total, this.last - this.start), cpu: null };
  }
}

function perSec(count: number, ms: number): { count: number; seconds: number; perSec: number } {
  const seconds = ms / 1000;
  return { count, seconds, perSec: seconds > 0 ? count / seconds : 0 };
}

/** Value at quantile q (0..1) of an ascending array; nearest-rank. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}
