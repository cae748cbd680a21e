// Every program of one `lazaret supervise` process: start, status, rolling restart, graceful stop.

import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import type { Spawner } from './child.js';
import type { SupervisorConfig } from './config.js';
import { ProgramRunner, type ProgramStatus, type StuckCopy } from './program.js';

export interface RolloutStatus {
  running: boolean;
  /** Rolling restarts finished (completed or stopped early), so a waiting `supervise restart` sees its own. */
  finished: number;
  lastResult: 'ok' | 'failed' | null;
  lastFinishedAt: string | null;
}

export interface SupervisorStatus {
  id: string;
  host: string;
  pid: number;
  server: string;
  startedAt: string;
  updatedAt: string;
  stopping: boolean;
  rollout: RolloutStatus;
  programs: ProgramStatus[];
}

export interface SupervisorDeps {
  clock: Clock;
  random: () => number;
  spawn: Spawner;
  log: Logger;
  host: string;
  pid: number;
}

export class Supervisor {
  readonly config: SupervisorConfig;
  readonly #deps: SupervisorDeps;
  readonly #programs: ProgramRunner[];
  readonly #listeners = new Set<() => void>();
  readonly #startedAt: number;
  #rollout: RolloutStatus = { running: false, finished: 0, lastResult: null, lastFinishedAt: null };
  #rolloutAgain = false;
  #stopping: Promise<void> | null = null;

  constructor(config: SupervisorConfig, deps: SupervisorDeps) {
    this.config = config;
    this.#deps = deps;
    this.#startedAt = deps.clock.now();
    const changed = (): void => this.#changed();
    this.#programs = config.programs.map((p) => new ProgramRunner(p, { clock: deps.clock, random: deps.random, spawn: deps.spawn, log: deps.log, changed }));
  }

  start(): void {
    this.#deps.log.info(
      { event: 'supervisor_started', id: this.config.id, programs: this.config.programs.map((p) => ({ name: p.name, copies: p.copies })) },
      `supervising ${this.config.programs.map((p) => `${p.copies} x ${p.name}`).join(', ')}`,
    );
    for (const p of this.#programs) p.start();
  }

  /** The server's answer to a report named copies stuck in a timed-out job. */
  stuck(copies: readonly StuckCopy[]): void {
    if (this.#stopping) return;
    for (const p of this.#programs) p.killStuck(copies);
  }

  /** Called after every change (a copy started or exited, flapping began or ended, a rollout moved). */
  onChange(fn: () => void): void {
    this.#listeners.add(fn);
  }

  status(): SupervisorStatus {
    const now = this.#deps.clock.now();
    return {
      id: this.config.id,
      host: this.#deps.host,
      pid: this.#deps.pid,
      server: this.config.server,
      startedAt: new Date(this.#startedAt).toISOString(),
      updatedAt: new Date(now).toISOString(),
      stopping: this.#stopping !== null,
      rollout: { ...this.#rollout },
      programs: this.#programs.map((p) => p.status()),
    };
  }

  /**
   * Replaces every copy, one at a time, each new one having to stay up for settleMs before the next;
   * stops at the first that does not (the remaining copies keep running the old code). A request that
   * arrives during a rollout runs once more after it: a second deploy happened meanwhile.
   */
  async rollingRestart(): Promise<void> {
    if (this.#stopping) return;
    if (this.#rollout.running) {
      this.#rolloutAgain = true;
      this.#deps.log.info({ event: 'rollout_queued' }, 'a rolling restart is running; another one follows it');
      return;
    }
    this.#rollout.running = true;
    this.#changed();
    const { log, clock } = this.#deps;
    log.info({ event: 'rollout_started' }, `rolling restart of ${this.#programs.map((p) => p.config.name).join(', ')}`);
    let ok = true;
    outer: for (const program of this.#programs) {
      for (let copy = 0; copy < program.copies; copy++) {
        if (!(await program.replace(copy, this.config.settleMs))) {
          ok = false;
          break outer;
        }
      }
    }
    this.#rollout = {
      running: false,
      finished: this.#rollout.finished + 1,
      lastResult: ok && !this.#stopping ? 'ok' : 'failed',
      lastFinishedAt: new Date(clock.now()).toISOString(),
    };
    if (this.#rollout.lastResult === 'ok') log.info({ event: 'rollout_finished' }, 'rolling restart finished: every copy replaced');
    else
      log.error({ event: 'rollout_failed' }, 'rolling restart stopped early: a new copy did not stay up (see above); the copies not yet replaced keep running');
    this.#changed();
    if (this.#rolloutAgain && !this.#stopping) {
      this.#rolloutAgain = false;
      await this.rollingRestart();
    }
  }

  /** SIGTERM to every copy, SIGKILL after each program's stopGraceMs; resolves once all have exited. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#deps.log.info({ event: 'stopping' }, 'stopping every program');
      this.#changed();
      await Promise.all(this.#programs.map((p) => p.stop()));
      this.#deps.log.info({ event: 'supervisor_stopped' }, 'every program stopped');
    })();
    return this.#stopping;
  }

  #changed(): void {
    for (const fn of this.#listeners) fn();
  }
}
