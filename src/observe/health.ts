// Health checks (GET /health, alerts, logs): pure logic over the engine's state and its clock. Checked
// every intervalMs and on demand; a check that turns red or recovers is logged and emitted as
// 'health:changed'. Other parts of a node add their own checks with addSource().

import picomatch from 'picomatch';
import type { Logger } from 'pino';
import type { AttemptOutcome, AttemptRow } from '../storage/types.js';
import type { TimerRef } from '../core/clock.js';
import type { Engine } from '../core/engine.js';
import { TypedEmitter } from '../core/events.js';
import type { FunctionState } from '../core/functions.js';
import type { Job } from '../core/job.js';
import { LatencyWindow } from './latency.js';
import { hangThresholdMs } from '../core/policy.js';
import { availableWorkers, stuckWorkers, type Worker } from '../core/worker.js';

/** Thresholds for the functions whose name matches the glob; durations in ms. Later rules win. */
export interface HealthRule {
  function: string;
  minWorkers?: number;
  maxQueued?: number;
  maxOldestQueuedAge?: number;
  /** Longest an attempt may run before it counts as hung; default: the policy's timeout, else 10 min. */
  hangAfter?: number;
  maxP95Wait?: number;
  maxP95Run?: number;
}

export interface HealthOptions {
  /** How often the checks run by themselves (an HTTP request also runs them). */
  intervalMs: number;
  rules: readonly HealthRule[];
  /** A function with queued jobs and no connected worker for this long is red, with or without rules. */
  unservedAfterMs: number;
  /** A function with queued jobs and workers that can take them, and no start for this long, is red; 0 = off. */
  stalledAfterMs?: number;
  /**
   * This node's name among the nodes of a shared store: the workers the others publish count for the
   * unserved check (a cluster's queue is served when any node has a worker for it).
   */
  node?: string;
}

export const DEFAULT_STALLED_AFTER_MS = 60_000;

export type CheckState = 'ok' | 'fail';

export interface CheckResult {
  name: string;
  function?: string;
  state: CheckState;
  reason: string;
  value?: number;
  threshold?: number;
}

export interface HealthReport {
  status: CheckState;
  checkedAt: number;
  checks: CheckResult[];
}

/** Checks from elsewhere in the node (e.g. supervisors); called at every check, must be quick. */
export type CheckSource = () => CheckResult[];

export interface HealthEvents {
  /** A check turned red (`check.state` 'fail') or recovered ('ok'). */
  'health:changed': [check: CheckResult];
}

/** Outcomes whose duration says how long the work took (not a server stop or an operator's cancel). */
const TIMED_OUTCOMES: ReadonlySet<AttemptOutcome> = new Set(['completed', 'failed', 'crashed', 'timed_out']);
const P95 = 0.95;
/** The store check writes at most this often while the store answers (ms of the engine's clock). */
export const STORE_CHECK_EVERY_MS = 5000;
/**
 * A ping not answered by then fails the check: a store that went silent (a network cut without a reset)
 * would otherwise keep the check waiting for the driver's own timeout (35 s with PostgreSQL). With the
 * repeat above, /health turns red within 5 + 4 s of the store going away.
 */
export const STORE_PING_TIMEOUT_MS = 4000;

export class HealthChecker extends TypedEmitter<HealthEvents> {
  readonly #latency = new LatencyWindow();
  readonly #engine: Engine;
  readonly #log: Logger;
  readonly #opts: HealthOptions;
  readonly #rules: { rule: HealthRule; test: (name: string) => boolean }[];
  /** Rules naming one function exactly: checked even before the function was ever seen. */
  readonly #named: string[];
  readonly #sources: CheckSource[] = [];
  /** Per function, the last check at which it had a worker or nothing queued. */
  readonly #servedAt = new Map<string, number>();
  readonly #startedAt: number;
  /** The last result of every check that failed, by name and function. */
  #failing = new Map<string, CheckResult>();
  #last: HealthReport | null = null;
  #storeChecked: { at: number; result: CheckResult } | null = null;
  /** With a shared store: the workers per function the other live nodes published, read at most every STORE_CHECK_EVERY_MS. */
  #peers: { at: number; workers: Map<string, number> } | null = null;
  #running: Promise<HealthReport> | null = null;
  #timer: TimerRef | null = null;
  #stopped = false;
  readonly #timed: boolean;

  constructor(engine: Engine, log: Logger, opts: HealthOptions) {
    super();
    this.#engine = engine;
    this.#log = log;
    this.#opts = opts;
    this.#rules = opts.rules.map((rule) => ({ rule, test: picomatch(rule.function, { dot: true }) }));
    this.#named = opts.rules.filter((r) => !picomatch.scan(r.function).isGlob).map((r) => r.function);
    this.#startedAt = engine.clock.now();
    // The job path pays for the latency window only when a rule reads it.
    this.#timed = opts.rules.some((r) => r.maxP95Wait !== undefined || r.maxP95Run !== undefined);
    if (this.#timed) {
      engine.on('attempt:started', this.#onStarted);
      engine.on('attempt:ended', this.#onEnded);
    }
  }

  /** Checks every intervalMs from now on. */
  start(): void {
    this.#stopped = false;
    this.#arm();
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = null;
    if (this.#timed) {
      this.#engine.off('attempt:started', this.#onStarted);
      this.#engine.off('attempt:ended', this.#onEnded);
    }
  }

  addSource(source: CheckSource): void {
    this.#sources.push(source);
  }

  get last(): HealthReport | null {
    return this.#last;
  }

  /** Runs every check now; callers arriving while one runs share its answer. */
  check(): Promise<HealthReport> {
    this.#running ??= this.#checkAll().finally(() => (this.#running = null));
    return this.#running;
  }

  #arm(): void {
    if (this.#stopped) return;
    this.#timer = this.#engine.clock.setTimer(this.#opts.intervalMs, () => {
      this.check().then(
        () => this.#arm(),
        (err: unknown) => {
          this.#log.error({ err }, 'health check failed to run');
          this.#arm();
        },
      );
    });
  }

  readonly #onStarted = (job: Job, attempt: AttemptRow): void => {
    this.#latency.record(job.fn.name, 'wait', attempt.startedAt - job.queuedAt, attempt.startedAt);
  };

  readonly #onEnded = (job: Job, attempt: AttemptRow): void => {
    if (attempt.endedAt === null || attempt.outcome === null || !TIMED_OUTCOMES.has(attempt.outcome)) return;
    this.#latency.record(job.fn.name, 'run', attempt.endedAt - attempt.startedAt, attempt.endedAt);
  };

  async #checkAll(): Promise<HealthReport> {
    const [store, peers] = await Promise.all([this.#storeCheck(), this.#peerWorkers()]);
    const now = this.#engine.clock.now();
    const checks = [store, ...this.#functionChecks(now, peers)];
    for (const source of this.#sources) {
      try {
        checks.push(...source());
      } catch (err) {
        checks.push({ name: 'source', state: 'fail', reason: `a health check source failed: ${(err as Error).message}` });
      }
    }
    const report: HealthReport = { status: checks.some((c) => c.state === 'fail') ? 'fail' : 'ok', checkedAt: now, checks };
    // A check still running while the node stops sees a closed store: not news for anyone.
    if (this.#stopped) return report;
    this.#noteChanges(checks);
    this.#last = report;
    return report;
  }

  /**
   * One real write at most every STORE_CHECK_EVERY_MS, whoever asks: /health is open to anyone, and
   * each ping takes the write lock the job path needs. In between, the last answer is repeated; but not
   * a failure: a store that failed is pinged at every check (it holds no lock to spare), so /health turns
   * green as soon as the store is back.
   */
  async #storeCheck(): Promise<CheckResult> {
    const now = this.#engine.clock.now();
    const last = this.#storeChecked;
    if (last !== null && last.result.state === 'ok' && now - last.at < STORE_CHECK_EVERY_MS) return last.result;
    const store = this.#engine.store.describe();
    let result: CheckResult;
    try {
      await this.#answered(this.#engine.store.ping(now));
      result = { name: 'store', state: 'ok', reason: `${store} is writable` };
    } catch (err) {
      result = { name: 'store', state: 'fail', reason: `cannot write to ${store}: ${(err as Error).message}` };
    }
    this.#storeChecked = { at: now, result };
    return result;
  }

  /** What the store answers, or a rejection after STORE_PING_TIMEOUT_MS: a silent store must not hold /health up. */
  async #answered<T>(answer: Promise<T>): Promise<T> {
    let deadline: TimerRef | null = null;
    try {
      return await Promise.race([
        answer,
        new Promise<never>((_, reject) => {
          deadline = this.#engine.clock.setTimer(STORE_PING_TIMEOUT_MS, () => reject(new Error(`no answer within ${STORE_PING_TIMEOUT_MS / 1000} s`)));
        }),
      ]);
    } finally {
      (deadline as TimerRef | null)?.cancel();
    }
  }

  /**
   * Workers per function on the other live nodes of a shared store, as their last lease renewal
   * published them (at most a third of a lease old). Empty for a store of one node, and when the store
   * cannot be read (the store check says so).
   */
  async #peerWorkers(): Promise<Map<string, number>> {
    const store = this.#engine.store;
    if (!store.capabilities.shared) return new Map();
    const now = this.#engine.clock.now();
    if (this.#peers !== null && now - this.#peers.at < STORE_CHECK_EVERY_MS) return this.#peers.workers;
    const workers = new Map<string, number>();
    try {
      for (const node of await this.#answered(store.nodesList())) {
        if (node.name === this.#opts.node || (node.expiresAt !== null && node.expiresAt < node.now)) continue;
        for (const [fn, n] of Object.entries(node.info.workers)) workers.set(fn, (workers.get(fn) ?? 0) + n);
      }
    } catch {
      // Unreadable store: the store check is red already.
    }
    this.#peers = { at: now, workers };
    return workers;
  }

  #functionChecks(now: number, peers: ReadonlyMap<string, number>): CheckResult[] {
    const out: CheckResult[] = [];
    const running = this.#longestRunning(now);
    const seen = new Set<string>();
    for (const fn of this.#engine.functions.all()) {
      seen.add(fn.name);
      this.#checkFunction(out, fn.name, fn, running.get(fn.name) ?? null, now, peers.get(fn.name) ?? 0);
    }
    for (const name of this.#named) if (!seen.has(name)) this.#checkFunction(out, name, null, null, now, peers.get(name) ?? 0);
    // Forgotten functions leave nothing behind (names come from peers; their number must stay bounded).
    for (const name of this.#servedAt.keys()) if (!seen.has(name) && !this.#named.includes(name)) this.#servedAt.delete(name);
    this.#latency.retain((name) => seen.has(name) || this.#named.includes(name));
    return out;
  }

  /** `elsewhere`: workers for it on the other nodes of a shared store. */
  #checkFunction(out: CheckResult[], name: string, fn: FunctionState | null, longest: number | null, now: number, elsewhere: number): void {
    const rule = this.#ruleFor(name);
    // Stuck workers are connected but will run nothing: they do not serve the function.
    const workers = fn === null ? 0 : availableWorkers(fn);
    const stuck = fn === null ? [] : stuckWorkers(fn);
    const queued = fn?.runnable ?? 0;
    const oldestAt = fn?.oldestQueuedAt() ?? null;
    const age = oldestAt === null ? 0 : now - oldestAt;

    if (workers + elsewhere > 0 || queued === 0) this.#servedAt.set(name, now);
    if (queued > 0) {
      const since = Math.max(this.#servedAt.get(name) ?? this.#startedAt, oldestAt ?? now);
      const unserved = workers + elsewhere === 0 ? now - since : 0;
      const nowhere = this.#engine.store.capabilities.shared ? ' on any node' : '';
      const limit = this.#opts.unservedAfterMs;
      out.push(
        unserved >= limit
          ? fail(
              'unserved',
              name,
              `${count(queued, 'job')} queued and no worker ${stuck.length > 0 ? `available (${count(stuck.length, 'stuck worker')})` : 'connected'}${nowhere} for ${seconds(unserved)}`,
              unserved,
              limit,
            )
          : ok(
              'unserved',
              name,
              workers > 0
                ? `${count(workers, 'worker')} for ${count(queued, 'queued job')}`
                : elsewhere > 0
                  ? `${count(elsewhere, 'worker')} on other nodes for ${count(queued, 'queued job')}`
                  : `no worker${nowhere} for ${seconds(unserved)} yet`,
              unserved,
              limit,
            ),
      );
    }
    const stallLimit = this.#opts.stalledAfterMs ?? DEFAULT_STALLED_AFTER_MS;
    if (fn !== null && queued > 0 && workers > 0 && stallLimit > 0) {
      // Measured from the latest of: the last start, the oldest job becoming runnable, the earliest
      // worker that can take it connecting. A worker that registers and never grabs shows up here.
      const since = Math.max(fn.lastStartedAt ?? this.#startedAt, oldestAt ?? now, earliestAvailable(fn) ?? now);
      const stalled = now - since;
      out.push(
        stalled >= stallLimit
          ? fail(
              'stalled',
              name,
              `${count(queued, 'job')} queued and ${count(workers, 'worker')} connected, but no job started for ${seconds(stalled)}`,
              stalled,
              stallLimit,
            )
          : ok('stalled', name, `no job started for ${seconds(stalled)}`, stalled, stallLimit),
      );
    }
    if (rule.minWorkers !== undefined) {
      out.push(
        workers < rule.minWorkers
          ? fail(
              'workers',
              name,
              `${count(workers, 'worker')} connected${stuck.length > 0 ? ` and not stuck (${stuck.length} stuck)` : ''}, at least ${rule.minWorkers} wanted`,
              workers,
              rule.minWorkers,
            )
          : ok('workers', name, `${count(workers, 'worker')} connected`, workers, rule.minWorkers),
      );
    }
    if (rule.maxQueued !== undefined) {
      out.push(
        queued > rule.maxQueued
          ? fail('queued', name, `${count(queued, 'job')} queued, more than ${rule.maxQueued}`, queued, rule.maxQueued)
          : ok('queued', name, `${count(queued, 'job')} queued`, queued, rule.maxQueued),
      );
    }
    if (rule.maxOldestQueuedAge !== undefined) {
      out.push(
        age > rule.maxOldestQueuedAge
          ? fail(
              'oldest_queued_age',
              name,
              `the oldest queued job has waited ${seconds(age)}, more than ${seconds(rule.maxOldestQueuedAge)}`,
              age,
              rule.maxOldestQueuedAge,
            )
          : ok(
              'oldest_queued_age',
              name,
              oldestAt === null ? 'nothing queued' : `the oldest queued job has waited ${seconds(age)}`,
              age,
              rule.maxOldestQueuedAge,
            ),
      );
    }
    if (stuck.length > 0) {
      // Red for as long as a worker sits in a timed-out attempt, not only until the timeout ends it.
      const limit = this.hangThresholdFor(name);
      out.push(fail('hung', name, stuckReason(stuck, name, now), Math.max(longest ?? 0, ...stuck.map((w) => oldestStuckMs(w, name, now))), limit));
    } else if (longest !== null) {
      const limit = this.hangThresholdFor(name);
      out.push(
        longest > limit
          ? fail('hung', name, `an attempt has been running for ${seconds(longest)}, longer than ${seconds(limit)}: is its worker stuck?`, longest, limit)
          : ok('hung', name, `the longest running attempt started ${seconds(longest)} ago`, longest, limit),
      );
    }
    this.#p95(out, 'p95_wait', name, rule.maxP95Wait, 'queue wait', now);
    this.#p95(out, 'p95_run', name, rule.maxP95Run, 'run time', now);
  }

  #p95(out: CheckResult[], check: 'p95_wait' | 'p95_run', name: string, limit: number | undefined, what: string, now: number): void {
    if (limit === undefined) return;
    const p = this.#latency.quantile(name, check === 'p95_wait' ? 'wait' : 'run', P95, now);
    const window = seconds(this.#latency.windowMs);
    if (p === null) out.push(ok(check, name, `no attempts in the last ${window}`, 0, limit));
    else if (p.ms > limit)
      out.push(
        fail(check, name, `p95 ${what} over the last ${window} is ${seconds(p.ms)} (${count(p.samples, 'attempt')}), more than ${seconds(limit)}`, p.ms, limit),
      );
    else out.push(ok(check, name, `p95 ${what} over the last ${window} is ${seconds(p.ms)} (${count(p.samples, 'attempt')})`, p.ms, limit));
  }

  /** How long an attempt of this function may run before it counts as hung (/health, /api/workers). */
  hangThresholdFor(name: string): number {
    return this.#ruleFor(name).hangAfter ?? hangThresholdMs(this.#engine.policies.for(name));
  }

  /** The merged rule of every glob that matches, later ones winning. */
  #ruleFor(name: string): Omit<HealthRule, 'function'> {
    const merged: Omit<HealthRule, 'function'> = {};
    for (const { rule, test } of this.#rules) {
      if (!test(name)) continue;
      const { function: _glob, ...thresholds } = rule;
      Object.assign(merged, thresholds);
    }
    return merged;
  }

  /** Per function, how long its longest running attempt has run. */
  #longestRunning(now: number): Map<string, number> {
    const longest = new Map<string, number>();
    for (const w of this.#engine.workers) {
      for (const job of w.held.values()) {
        if (job.current === null) continue;
        const ms = now - job.current.startedAt;
        if (ms > (longest.get(job.fn.name) ?? -1)) longest.set(job.fn.name, ms);
      }
    }
    return longest;
  }

  #noteChanges(checks: CheckResult[]): void {
    const failing = new Map<string, CheckResult>();
    const present = new Set<string>();
    for (const c of checks) {
      const key = `${c.name}\0${c.function ?? ''}`;
      present.add(key);
      const was = this.#failing.get(key);
      if (c.state === 'fail') {
        failing.set(key, c);
        if (!was) this.#changed(c);
      } else if (was) this.#changed(c);
    }
    for (const [key, was] of this.#failing) {
      if (present.has(key)) continue;
      this.#changed({
        name: was.name,
        ...(was.function === undefined ? {} : { function: was.function }),
        state: 'ok',
        reason: 'no longer applies (nothing left to check)',
      });
    }
    this.#failing = failing;
  }

  #changed(check: CheckResult): void {
    const fields = { check: check.name, function: check.function, reason: check.reason, value: check.value, threshold: check.threshold };
    if (check.state === 'fail') this.#log.warn(fields, `health check ${label(check)} is failing: ${check.reason}`);
    else this.#log.info(fields, `health check ${label(check)} recovered: ${check.reason}`);
    this.emit('health:changed', check);
  }
}

/** When the first of fn's workers that can take a job connected. */
function earliestAvailable(fn: FunctionState): number | null {
  let at: number | null = null;
  for (const w of fn.workers) if (!w.isStuck && (at === null || w.conn.connectedAt < at)) at = w.conn.connectedAt;
  return at;
}

/** How long the worker's oldest timed-out attempt of fn has been running, counted from its start. */
function oldestStuckMs(w: Worker, fn: string, now: number): number {
  let ms = 0;
  for (const s of w.stuck.values()) if (s.fn.name === fn) ms = Math.max(ms, now - s.startedAt);
  return ms;
}

function stuckReason(stuck: Worker[], fn: string, now: number): string {
  const names = stuck.map((w) => {
    const s = [...w.stuck.values()].find((a) => a.fn.name === fn) ?? w.stuck.values().next().value!;
    const pid = w.conn.pid !== null && !w.conn.name.includes(`pid ${w.conn.pid}`) ? ` (pid ${w.conn.pid})` : '';
    return `${w.conn.name}${pid} on ${s.handle} for ${seconds(now - s.startedAt)}`;
  });
  return `${count(stuck.length, 'worker')} stuck in an attempt that timed out and gets no job until it answers or disconnects: ${names.join(', ')}`;
}

function ok(name: string, fn: string, reason: string, value: number, threshold: number): CheckResult {
  return { name, function: fn, state: 'ok', reason, value, threshold };
}

function fail(name: string, fn: string, reason: string, value: number, threshold: number): CheckResult {
  return { name, function: fn, state: 'fail', reason, value, threshold };
}

function label(c: CheckResult): string {
  return c.function === undefined ? c.name : `${c.name} (${c.function})`;
}

/** `1 job`, `3 jobs`. */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s` : `${Math.round(ms / 60_000)} min`;
}
