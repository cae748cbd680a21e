// N copies of one program, kept running forever: a copy that exits is started again after a backoff
// that grows while it keeps dying young and resets once it ran stably; there is no restart limit.

import type { Logger } from 'pino';
import type { Clock, TimerRef } from './clock.js';
import { Backoff } from './backoff.js';
import type { ChildExit, ChildHandle, Spawner } from './child.js';
import { commandText, type ProgramConfig } from './config.js';
import { ExitHistory, STDERR_EVIDENCE_CHARS, type ExitRecord } from './exits.js';
import type { ProgramReport, StuckCopy } from './report.js';

export type { StuckCopy };

/** Why the supervisor itself ended a copy; such exits are not deaths. */
type Ending = 'stop' | 'roll' | 'recycle' | 'stuck';

interface Slot {
  copy: number;
  child: ChildHandle | null;
  startedAt: number | null;
  nextStartAt: number | null;
  ending: Ending | null;
  /** Why the supervisor killed it, reported with its exit. */
  killedFor: string | null;
  backoff: Backoff;
  timers: { restart?: TimerRef; stable?: TimerRef; maxRuntime?: TimerRef; kill?: TimerRef };
}

export interface CopyStatus {
  copy: number;
  pid: number | null;
  startedAt: string | null;
  /** When a copy waiting out its backoff starts again. */
  nextStartAt: string | null;
}

/** What a program reports to the server (supervisor/report.ts), plus each copy for `supervise status`. */
export interface ProgramStatus extends Omit<ProgramReport, 'pids'> {
  instances: CopyStatus[];
}

export interface RunnerDeps {
  clock: Clock;
  random: () => number;
  spawn: Spawner;
  log: Logger;
  /** Called on every change a report or the state file should show. */
  changed: () => void;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export class ProgramRunner {
  readonly config: ProgramConfig;
  readonly #deps: RunnerDeps;
  readonly #log: Logger;
  readonly #slots: Slot[];
  readonly #exits: ExitHistory;
  #restarts = 0;
  #recycled = 0;
  #stopping = false;

  constructor(config: ProgramConfig, deps: RunnerDeps) {
    this.config = config;
    this.#deps = deps;
    this.#log = deps.log.child({ program: config.name });
    this.#exits = new ExitHistory(config.flapping);
    this.#slots = Array.from({ length: config.copies }, (_, copy) => ({
      copy,
      child: null,
      startedAt: null,
      nextStartAt: null,
      ending: null,
      killedFor: null,
      backoff: new Backoff(config.backoff, deps.random),
      timers: {},
    }));
  }

  start(): void {
    for (const slot of this.#slots) this.#spawn(slot);
  }

  get copies(): number {
    return this.#slots.length;
  }

  status(): ProgramStatus {
    return {
      name: this.config.name,
      command: commandText(this.config.command),
      copies: this.#slots.length,
      running: this.#slots.filter((s) => s.child !== null).length,
      restarts: this.#restarts,
      recycled: this.#recycled,
      flapping: this.#exits.flapping,
      lastExits: this.#exits.last.map((e) => ({
        at: iso(e.at)!,
        code: e.code,
        signal: e.signal,
        pid: e.pid ?? null,
        ...(e.stderr ? { stderr: e.stderr } : {}),
        ...(e.message ? { message: e.message } : {}),
      })),
      instances: this.#slots.map((s) => ({ copy: s.copy, pid: s.child?.pid ?? null, startedAt: iso(s.startedAt), nextStartAt: iso(s.nextStartAt) })),
    };
  }

  /** Stops every copy (SIGTERM, SIGKILL after stopGraceMs) and starts none again. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(
      this.#slots.map((slot) => {
        slot.timers.restart?.cancel();
        slot.nextStartAt = null;
        return this.#terminate(slot, 'stop');
      }),
    );
  }

  /**
   * One step of a rolling restart: replaces one copy and resolves true once the new copy stayed up for
   * settleMs, false when it died before (the caller stops the rollout there).
   */
  async replace(copy: number, settleMs: number): Promise<boolean> {
    const slot = this.#slots[copy];
    if (slot === undefined || this.#stopping) return false;
    slot.timers.restart?.cancel();
    slot.nextStartAt = null;
    await this.#terminate(slot, 'roll');
    if (this.#stopping) return false;
    const child = this.#spawn(slot);
    const died = await new Promise<boolean>((resolve) => {
      const timer = this.#deps.clock.setTimer(settleMs, () => resolve(false));
      void child.exited.then(() => {
        timer.cancel();
        resolve(true);
      });
    });
    if (died && !this.#stopping)
      this.#log.error({ event: 'rollout_copy_failed', copy }, `the new copy ${copy} of ${this.config.name} exited within the settle time of ${settleMs} ms`);
    return !died;
  }

  /**
   * The server's list of stuck workers: a copy of this program stuck for killStuckAfter is killed
   * (SIGKILL to its process group: it is not answering, a SIGTERM would wait on the same hang) and
   * started again at once. Its exit, with why, goes to the server as crash evidence.
   */
  killStuck(stuck: readonly StuckCopy[]): void {
    const after = this.config.killStuckAfterMs;
    if (after === null || this.#stopping) return;
    for (const s of stuck) {
      const slot = this.#slots.find((x) => x.child !== null && x.child.pid === s.pid);
      if (slot === undefined || slot.ending !== null || s.stuckMs < after) continue;
      const child = slot.child!;
      slot.ending = 'stuck';
      slot.killedFor = `killed by lazaret supervise: stuck in ${s.function} ${s.handle} for ${Math.round(s.stuckMs / 1000)} s after its timeout (killStuckAfter ${Math.round(after / 1000)} s)`;
      this.#log.warn(
        { event: 'killed_stuck', copy: slot.copy, childPid: child.pid, worker: s.worker, function: s.function, handle: s.handle, stuckMs: s.stuckMs },
        `${this.config.name} copy ${slot.copy} (pid ${child.pid}) is stuck in ${s.function} ${s.handle} for ${s.stuckMs} ms after its timeout: SIGKILL, then a fresh copy`,
      );
      child.signal('SIGKILL');
    }
  }

  #spawn(slot: Slot): ChildHandle {
    const { clock } = this.#deps;
    const child = this.#deps.spawn(this.config);
    slot.child = child;
    slot.startedAt = clock.now();
    slot.nextStartAt = null;
    slot.ending = null;
    slot.killedFor = null;
    this.#log.info({ event: 'spawned', copy: slot.copy, childPid: child.pid }, `started ${this.config.name} copy ${slot.copy} (pid ${child.pid})`);
    slot.timers.stable = clock.setTimer(this.config.stableAfterMs, () => {
      slot.backoff.reset();
      if (this.#exits.stable()) {
        this.#log.info(
          { event: 'flapping_ended', copy: slot.copy, childPid: child.pid },
          `${this.config.name} is no longer flapping: copy ${slot.copy} ran ${this.config.stableAfterMs} ms`,
        );
        this.#deps.changed();
      }
    });
    if (this.config.maxRuntimeMs !== null) {
      const limit = this.config.maxRuntimeMs;
      slot.timers.maxRuntime = clock.setTimer(limit, () => {
        this.#log.warn(
          { event: 'recycled', copy: slot.copy, childPid: child.pid, maxRuntimeMs: limit },
          `${this.config.name} copy ${slot.copy} (pid ${child.pid}) ran longer than maxRuntime ${limit} ms: recycling it (a worker that should recycle itself did not)`,
        );
        this.#recycled++;
        void this.#terminate(slot, 'recycle');
      });
    }
    void child.exited.then((exit) => this.#exited(slot, child, exit));
    this.#deps.changed();
    return child;
  }

  /** SIGTERM to the copy's process group, SIGKILL after stopGraceMs; resolves once it exited. */
  async #terminate(slot: Slot, ending: Ending): Promise<void> {
    const child = slot.child;
    if (child === null) return;
    slot.ending = ending;
    child.signal('SIGTERM');
    slot.timers.kill?.cancel();
    slot.timers.kill = this.#deps.clock.setTimer(this.config.stopGraceMs, () => {
      this.#log.warn(
        { event: 'killed', copy: slot.copy, childPid: child.pid },
        `${this.config.name} copy ${slot.copy} (pid ${child.pid}) did not stop within ${this.config.stopGraceMs} ms of SIGTERM: SIGKILL`,
      );
      child.signal('SIGKILL');
    });
    await child.exited;
  }

  #exited(slot: Slot, child: ChildHandle, exit: ChildExit): void {
    if (slot.child !== child) return;
    const now = this.#deps.clock.now();
    for (const t of Object.values(slot.timers)) t?.cancel();
    slot.timers = {};
    const ranMs = now - (slot.startedAt ?? now);
    const ending = slot.ending;
    slot.child = null;
    slot.startedAt = null;
    const record: ExitRecord = { at: now, code: exit.code, signal: exit.signal, pid: child.pid, stderr: exit.stderr.join('\n').slice(-STDERR_EVIDENCE_CHARS) };
    if (slot.killedFor !== null) record.message = slot.killedFor;
    const fields = { copy: slot.copy, childPid: child.pid, code: exit.code, signal: exit.signal, ranMs };

    if (ending === 'stop' || ending === 'roll' || this.#stopping) {
      this.#log.info({ event: 'stopped', ...fields }, `${this.config.name} copy ${slot.copy} (pid ${child.pid}) stopped`);
      this.#deps.changed();
      return;
    }
    if (ending === 'stuck') {
      // Killed on purpose, for a hang: started again at once, not counted towards flapping.
      this.#exits.record(record, false);
      this.#restarts++;
      this.#spawn(slot);
      return;
    }
    if (ending === 'recycle') {
      this.#exits.record(record, false);
      this.#restarts++;
      this.#spawn(slot);
      return;
    }
    if (exit.code === RECYCLE_EXIT_CODE && ranMs >= MIN_RECYCLE_RUN_MS) {
      // The worker recycled itself (after N jobs, T minutes or an RSS limit): a planned exit, started
      // again at once and not counted towards flapping. One that "recycles" at once is a crash loop.
      this.#log.info(
        { event: 'self_recycled', ...fields },
        `${this.config.name} copy ${slot.copy} (pid ${child.pid}) recycled itself after ${ranMs} ms; starting a fresh one`,
      );
      this.#exits.record(record, false);
      this.#recycled++;
      this.#restarts++;
      this.#spawn(slot);
      return;
    }

    const startedFlapping = this.#exits.record(record, ranMs < this.config.stableAfterMs);
    const ceilingMs = slot.backoff.ceilingMs;
    const delayMs = slot.backoff.next();
    slot.nextStartAt = now + delayMs;
    this.#log.warn(
      { event: 'exited', ...fields, stderr: exit.stderr.slice(-5), delayMs, ceilingMs },
      `${this.config.name} copy ${slot.copy} (pid ${child.pid}) exited (${describeExit(exit)}) after ${ranMs} ms; starting it again in ${delayMs} ms`,
    );
    if (startedFlapping) {
      this.#log.warn(
        {
          event: 'flapping',
          copy: slot.copy,
          code: exit.code,
          signal: exit.signal,
          stderr: exit.stderr,
          lastExits: this.status().lastExits.map(({ stderr: _stderr, ...e }) => e),
          restarts: this.#restarts,
        },
        `${this.config.name} is flapping: ${this.config.flapping.exits} copies died within ${this.config.stableAfterMs} ms of starting in the last ${this.config.flapping.windowMs} ms; last ${describeExit(exit)}. It is restarted with backoff, forever; look at its stderr above`,
      );
    }
    slot.timers.restart = this.#deps.clock.setTimer(delayMs, () => {
      if (this.#stopping) return;
      this.#restarts++;
      this.#spawn(slot);
    });
    this.#deps.changed();
  }
}

/**
 * The exit code of a worker that recycles itself (EX_TEMPFAIL; the Lazaret worker library's
 * EXIT_RECYCLE). Other workers may use it too: docs/supervisor.md.
 */
export const RECYCLE_EXIT_CODE = 75;
/** A "recycle" sooner than this after the start is treated as a failure (backoff, flapping). */
export const MIN_RECYCLE_RUN_MS = 1000;

export function describeExit(exit: { code: number | null; signal: string | null }): string {
  if (exit.signal !== null) return `signal ${exit.signal}`;
  if (exit.code !== null) return `exit code ${exit.code}`;
  return 'could not start';
}
