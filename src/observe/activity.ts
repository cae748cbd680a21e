// Per-function activity over the last hour, for charts and rates: counts of submitted, completed and
// failed jobs per 10 s step, plus a snapshot of queued and running at the end of each step. A ring
// buffer driven by the engine's clock, so tests move it with a ManualClock.

import type { Engine } from '../core/engine.js';
import type { Job } from '../core/job.js';
import type { OutcomeRow } from '../storage/types.js';
import type { TimerRef } from '../core/clock.js';

export const STEP_MS = 10_000;
const STEPS = 360; // one hour

export interface FunctionActivity {
  submitted: number;
  completed: number;
  failed: number;
  queued: number;
  running: number;
}

export interface ActivityPoint {
  /** End of the step, epoch ms. */
  at: number;
  functions: Map<string, FunctionActivity>;
}

export interface Rates {
  submittedPerMin: number;
  completedPerMin: number;
  failedPerMin: number;
}

const empty = (): FunctionActivity => ({ submitted: 0, completed: 0, failed: 0, queued: 0, running: 0 });

export class Activity {
  readonly #engine: Engine;
  readonly #points: ActivityPoint[] = [];
  /** The step being counted now. */
  #open = new Map<string, FunctionActivity>();
  #timer: TimerRef | null = null;
  readonly #onCreated = (job: Job): void => void this.#bump(job.fn.name).submitted++;
  readonly #onFinished = (o: OutcomeRow): void => {
    const a = this.#bump(o.function);
    if (o.state === 'completed') a.completed++;
    else a.failed++;
  };

  constructor(engine: Engine) {
    this.#engine = engine;
  }

  start(): void {
    this.#engine.on('job:created', this.#onCreated);
    this.#engine.on('job:finished', this.#onFinished);
    this.#arm();
  }

  stop(): void {
    this.#engine.off('job:created', this.#onCreated);
    this.#engine.off('job:finished', this.#onFinished);
    this.#timer?.cancel();
    this.#timer = null;
  }

  /** Closed steps of the last `minutes`, oldest first. */
  history(minutes: number): ActivityPoint[] {
    const from = this.#engine.clock.now() - minutes * 60_000;
    return this.#points.filter((p) => p.at > from);
  }

  /**
   * Jobs in the last 60 s, to one decimal: the open step, the five closed before it, and of the sixth the
   * share the open step has not yet replaced (a sliding window over the steps). At a step boundary this
   * is exactly the sum of the last six closed steps, which is what the dashboard's chart draws per point,
   * so the chart's latest value and this rate are the same measure.
   */
  rates(fn: string): Rates {
    const closed = this.#points.slice(-6);
    const elapsed = Math.min(STEP_MS, Math.max(0, this.#engine.clock.now() - (closed.at(-1)?.at ?? this.#engine.clock.now())));
    const weighted: [FunctionActivity | undefined, number][] = [[this.#open.get(fn), 1]];
    closed.forEach((p, i) => weighted.push([p.functions.get(fn), i === 0 && closed.length === 6 ? (STEP_MS - elapsed) / STEP_MS : 1]));
    const sum = (k: 'submitted' | 'completed' | 'failed'): number => Math.round(weighted.reduce((n, [s, w]) => n + (s?.[k] ?? 0) * w, 0) * 10) / 10;
    return { submittedPerMin: sum('submitted'), completedPerMin: sum('completed'), failedPerMin: sum('failed') };
  }

  #bump(fn: string): FunctionActivity {
    let a = this.#open.get(fn);
    if (a === undefined) {
      a = empty();
      this.#open.set(fn, a);
    }
    return a;
  }

  #arm(): void {
    this.#timer = this.#engine.clock.setTimer(STEP_MS, () => {
      this.#close();
      this.#arm();
    });
  }

  #close(): void {
    const step = this.#open;
    this.#open = new Map();
    for (const fn of this.#engine.functions.all()) {
      const queued = fn.runnable;
      if (queued === 0 && fn.running === 0 && !step.has(fn.name)) continue;
      const a = step.get(fn.name) ?? empty();
      a.queued = queued;
      a.running = fn.running;
      step.set(fn.name, a);
    }
    this.#points.push({ at: this.#engine.clock.now(), functions: step });
    if (this.#points.length > STEPS) this.#points.shift();
  }
}
