// GET /metrics: Prometheus text from a Registry of this server's own (tests run several servers in one
// process, so never prom-client's global one). Counting happens on engine events into plain numbers per
// function: no allocation per job. Everything else (queues, workers, ages) is read from the engine at
// scrape time.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AlertStats } from './alerts/outbox.js';
import { PRIORITY_NAMES } from '../domain.js';
import type { Engine } from '../core/engine.js';
import type { FunctionState } from '../core/functions.js';
import type { HealthChecker } from './health.js';
import type { Job } from '../core/job.js';
import { availableWorkers, stuckWorkers } from '../core/worker.js';
import type { AttemptRow, QuarantineRow } from '../storage/types.js';

/** Seconds; from a quick job to a long batch. */
const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600, 1800, 3600];

class Buckets {
  /** Not cumulative; the last slot is +Inf. */
  readonly counts = new Float64Array(BOUNDS.length + 1);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < BOUNDS.length && seconds > BOUNDS[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }
}

const COUNTERS = ['submitted', 'started', 'completed', 'failed', 'crashed', 'timed_out', 'expired', 'quarantined'] as const;
type CounterName = (typeof COUNTERS)[number];

const COUNTER_HELP: Record<CounterName, string> = {
  submitted: 'Jobs accepted (a submission that joined a queued job by its unique key is not counted)',
  started: 'Attempts started: deliveries of a job to a worker',
  completed: 'Attempts that ended in WORK_COMPLETE',
  failed: 'Attempts that ended in WORK_FAIL or WORK_EXCEPTION',
  crashed: 'Attempts whose worker disconnected while running them',
  timed_out: 'Attempts that ran past their timeout',
  expired: 'Jobs quarantined because their deadline passed before they could run',
  quarantined: 'Jobs sent to quarantine, for any reason',
};

class FunctionCounts {
  readonly n: Record<CounterName, number> = { submitted: 0, started: 0, completed: 0, failed: 0, crashed: 0, timed_out: 0, expired: 0, quarantined: 0 };
  readonly wait = new Buckets();
  readonly run = new Buckets();
}

/** A histogram filled from Buckets at scrape time instead of by observe() on the job path. */
class PrecountedHistogram extends Histogram<'function'> {
  readonly #name: string;
  readonly #help: string;
  readonly #source: () => Iterable<[string, Buckets]>;

  constructor(registry: Registry, name: string, help: string, source: () => Iterable<[string, Buckets]>) {
    super({ name, help, labelNames: ['function'], buckets: BOUNDS, registers: [registry] });
    this.#name = name;
    this.#help = help;
    this.#source = source;
  }

  // The registry reads this one when it renders text.
  async getForPromString(): Promise<Awaited<ReturnType<Histogram['get']>>> {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
    for (const [fn, b] of this.#source()) {
      let acc = 0;
      BOUNDS.forEach((le, i) => {
        acc += b.counts[i]!;
        values.push({ metricName: `${this.#name}_bucket`, labels: { function: fn, le }, value: acc });
      });
      values.push({ metricName: `${this.#name}_bucket`, labels: { function: fn, le: '+Inf' }, value: b.count });
      values.push({ metricName: `${this.#name}_sum`, labels: { function: fn }, value: b.sum });
      values.push({ metricName: `${this.#name}_count`, labels: { function: fn }, value: b.count });
    }
    // prom-client's declared shape names an enum and a collect hook its own histograms fill at runtime
    // with the string 'histogram'; the registry reads only these fields.
    return { name: this.#name, help: this.#help, type: 'histogram', values, aggregator: 'sum' } as unknown as Awaited<ReturnType<Histogram['get']>>;
  }

  override get(): ReturnType<Histogram['get']> {
    return this.getForPromString();
  }
}

export class Metrics {
  readonly registry = new Registry();
  readonly #engine: Engine;
  readonly #byFn = new Map<string, FunctionCounts>();

  /** `alerts` is null when the node has no webhooks; `node` labels every series (nodes sharing a store are scraped side by side). */
  constructor(engine: Engine, health: HealthChecker, alerts: AlertStats | null, node: string) {
    this.#engine = engine;
    this.registry.setDefaultLabels({ node });
    collectDefaultMetrics({ register: this.registry, prefix: 'lazaret_' });
    const fnCounts = (): Iterable<[string, FunctionCounts]> => this.#byFn.entries();
    for (const name of COUNTERS) {
      new Counter({
        name: `lazaret_jobs_${name}_total`,
        help: COUNTER_HELP[name],
        labelNames: ['function'],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const [fn, c] of fnCounts()) this.inc({ function: fn }, c.n[name]);
        },
      });
    }
    const functions = (): Iterable<FunctionState> => engine.functions.all();
    this.#gauge('lazaret_queued_jobs', 'Runnable jobs waiting for a worker', ['function', 'priority'], (set) => {
      for (const fn of functions()) PRIORITY_NAMES.forEach((priority, p) => set({ function: fn.name, priority }, fn.queued[p]!));
    });
    this.#gauge('lazaret_scheduled_jobs', 'Jobs waiting for their run-at time or a retry backoff', ['function'], (set) => {
      for (const fn of functions()) set({ function: fn.name }, fn.scheduled[0] + fn.scheduled[1] + fn.scheduled[2]);
    });
    this.#gauge('lazaret_running_jobs', 'Attempts running now', ['function'], (set) => {
      for (const fn of functions()) set({ function: fn.name }, fn.running);
    });
    this.#gauge('lazaret_workers', 'Connected workers that registered the function and are not stuck', ['function'], (set) => {
      for (const fn of functions()) set({ function: fn.name }, availableWorkers(fn));
    });
    this.#gauge('lazaret_stuck_workers', 'Workers of the function stuck in an attempt that timed out', ['function'], (set) => {
      for (const fn of functions()) set({ function: fn.name }, stuckWorkers(fn).length);
    });
    this.#gauge('lazaret_oldest_queued_age_seconds', 'How long the longest-waiting runnable job has waited (0 when none)', ['function'], (set) => {
      const now = engine.clock.now();
      for (const fn of functions()) {
        const at = fn.oldestQueuedAt();
        set({ function: fn.name }, at === null ? 0 : (now - at) / 1000);
      }
    });
    this.#gauge('lazaret_worker_connections', 'Connections that registered as a worker', [], (set) => set({}, engine.workers.size));
    this.#gauge('lazaret_health_ok', '1 when every health check passed at the last check, else 0', [], (set) => {
      const last = health.last;
      if (last !== null) set({}, last.status === 'ok' ? 1 : 0);
    });
    this.#gauge('lazaret_alerts_pending', 'Webhook alerts stored and not yet delivered (0 without webhooks)', [], (set) => set({}, alerts?.pending ?? 0));
    const alertCounts = [
      ['lazaret_alerts_delivered_total', 'Webhook alerts their receiver accepted (2xx)', 'delivered'],
      ['lazaret_alert_deliveries_failed_total', 'Webhook delivery tries that failed (refused, timed out, non-2xx, redirect); each retry counts', 'failedTries'],
      ['lazaret_alerts_dropped_total', 'Webhook alerts given up after alerts.retryFor, or pushed out by the per-webhook bound', 'dropped'],
    ] as const;
    for (const [name, help, field] of alertCounts) {
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(alerts?.[field] ?? 0);
        },
      });
    }
    new Gauge({
      name: 'lazaret_quarantine_size',
      help: 'Jobs in quarantine (the dead-letter queue)',
      registers: [this.registry],
      async collect() {
        this.set(await engine.quarantine.size());
      },
    });
    new PrecountedHistogram(this.registry, 'lazaret_queue_wait_seconds', 'From becoming runnable to being handed to a worker', () => this.#buckets('wait'));
    new PrecountedHistogram(this.registry, 'lazaret_run_seconds', 'Attempt run time (completed, failed, crashed or timed out)', () => this.#buckets('run'));

    engine.on('job:created', this.#onCreated);
    engine.on('attempt:started', this.#onStarted);
    engine.on('attempt:ended', this.#onEnded);
    engine.on('job:quarantined', this.#onQuarantined);
  }

  /** Stops counting (the registry keeps what it has). */
  close(): void {
    this.#engine.off('job:created', this.#onCreated);
    this.#engine.off('attempt:started', this.#onStarted);
    this.#engine.off('attempt:ended', this.#onEnded);
    this.#engine.off('job:quarantined', this.#onQuarantined);
  }

  #gauge<L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    fill: (set: (labels: Partial<Record<L, string>>, value: number) => void) => void,
  ): void {
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        // Functions that went away leave no stale series behind.
        this.reset();
        fill((labels, value) => this.set(labels, value));
      },
    });
  }

  *#buckets(kind: 'wait' | 'run'): Iterable<[string, Buckets]> {
    for (const [fn, c] of this.#byFn) yield [fn, c[kind]];
  }

  #counts(fn: string): FunctionCounts {
    let c = this.#byFn.get(fn);
    if (c === undefined) {
      // Series follow the function cap: counts of forgotten functions go (a counter reset to scrapers).
      const cap = this.#engine.functions.limits.maxFunctions;
      if (cap > 0 && this.#byFn.size >= cap) {
        const live = new Set([...this.#engine.functions.all()].map((f) => f.name));
        for (const name of this.#byFn.keys()) if (!live.has(name)) this.#byFn.delete(name);
      }
      c = new FunctionCounts();
      this.#byFn.set(fn, c);
    }
    return c;
  }

  readonly #onCreated = (job: Job): void => {
    this.#counts(job.fn.name).n.submitted++;
  };

  readonly #onStarted = (job: Job, attempt: AttemptRow): void => {
    const c = this.#counts(job.fn.name);
    c.n.started++;
    c.wait.observe((attempt.startedAt - job.queuedAt) / 1000);
  };

  readonly #onEnded = (job: Job, attempt: AttemptRow): void => {
    const outcome = attempt.outcome;
    if (outcome !== 'completed' && outcome !== 'failed' && outcome !== 'crashed' && outcome !== 'timed_out') return;
    const c = this.#counts(job.fn.name);
    c.n[outcome]++;
    c.run.observe(((attempt.endedAt ?? attempt.startedAt) - attempt.startedAt) / 1000);
  };

  readonly #onQuarantined = (entry: QuarantineRow): void => {
    const c = this.#counts(entry.function);
    c.n.quarantined++;
    if (entry.reason === 'expired') c.n.expired++;
  };
}
