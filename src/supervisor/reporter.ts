// Tells the Lazaret server what this supervisor runs (PUT /api/supervisors/:id): every reportInterval
// and at once after each change, one request at a time. A server that cannot be reached is logged,
// never fatal: supervising workers matters more than being seen doing it.

import type { Logger } from 'pino';
import { readCaFile, request } from '../http-client.js';
import type { Clock, TimerRef } from './clock.js';
import type { SupervisorConfig } from './config.js';
import type { SupervisorStatus } from './supervisor.js';
import type { ReportAnswer, StuckCopy, SupervisorReport } from './report.js';

/** Exits younger than this carry their stderr tail in reports. */
const FRESH_EXIT_MS = 10_000;

export interface ReporterDeps {
  clock: Clock;
  log: Logger;
  status: () => SupervisorStatus;
  /** The server's answer names copies of ours that are stuck (a server without the field: never called). */
  stuck?: (copies: StuckCopy[]) => void;
}

export class Reporter {
  readonly #config: SupervisorConfig;
  readonly #deps: ReporterDeps;
  readonly #url: string;
  readonly #minGapMs: number;
  /** Read once at start: a CA that cannot be read stops the supervisor before any program starts. */
  readonly #ca: string | undefined;
  #timer: TimerRef | null = null;
  #inFlight: Promise<void> | null = null;
  #dirty = false;
  #soon = false;
  #lastSentAt = -Infinity;
  #failing = false;
  #stopped = false;

  constructor(config: SupervisorConfig, deps: ReporterDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#minGapMs = Math.min(1000, config.reportIntervalMs / 4);
    this.#url = `${config.server}/api/supervisors/${encodeURIComponent(config.id)}`;
    this.#ca = config.caFile ? readCaFile(config.caFile) : undefined;
  }

  start(): void {
    this.changed();
  }

  /**
   * Something changed: report now, or as soon as the report under way is done. Reports stay at least
   * minGapMs apart: a copy crash-looping with a tiny backoff changes state every few ms, and the
   * server only needs the latest state.
   */
  changed(): void {
    if (this.#stopped) return;
    if (this.#inFlight) {
      this.#dirty = true;
      return;
    }
    const early = this.#lastSentAt + this.#minGapMs - this.#deps.clock.now();
    if (early <= 0) return this.#sendNow();
    if (this.#soon) return;
    this.#soon = true;
    this.#timer?.cancel();
    this.#timer = this.#deps.clock.setTimer(early, () => this.#sendNow());
  }

  #sendNow(): void {
    this.#soon = false;
    this.#timer?.cancel();
    this.#lastSentAt = this.#deps.clock.now();
    this.#inFlight = this.#send().finally(() => {
      this.#inFlight = null;
      if (this.#stopped) return;
      if (this.#dirty) {
        this.#dirty = false;
        this.changed();
      } else {
        this.#timer = this.#deps.clock.setTimer(this.#config.reportIntervalMs, () => this.changed());
      }
    });
  }

  /** Resolves once no report is under way. */
  async settled(): Promise<void> {
    while (this.#inFlight) await this.#inFlight;
  }

  /** Stops reporting and removes this supervisor from the server, so it does not show as stale. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    await this.settled();
    await this.#request('DELETE').catch((err: unknown) => this.#deps.log.debug({ err }, 'could not deregister from the server'));
  }

  async #send(): Promise<void> {
    const s = this.#deps.status();
    const now = this.#deps.clock.now();
    const body: SupervisorReport = {
      id: s.id,
      host: s.host,
      pid: s.pid,
      intervalMs: this.#config.reportIntervalMs,
      programs: s.programs.map(({ name, command, copies, running, restarts, recycled, flapping, lastExits, instances }) => ({
        name,
        command,
        copies,
        running,
        restarts,
        recycled,
        flapping,
        // The server matches a death to the connection its process had within seconds: older stderr
        // tails stay home, keeping every report small however often the copies died.
        lastExits: lastExits.map(({ stderr, ...e }) => (stderr && Date.parse(e.at) >= now - FRESH_EXIT_MS ? { ...e, stderr } : e)),
        // Its running copies, so the server can tell which worker connections are this supervisor's.
        pids: instances.flatMap((i) => (i.pid === null ? [] : [i.pid])),
      })),
    };
    try {
      const answer = (await this.#request('PUT', body)) as Partial<Record<keyof ReportAnswer, unknown>> | null;
      if (Array.isArray(answer?.stuck) && answer.stuck.length > 0) this.#deps.stuck?.(answer.stuck.filter(isStuckCopy));
      if (this.#failing) this.#deps.log.info({ event: 'report_ok', server: this.#config.server }, `reporting to ${this.#config.server} again`);
      this.#failing = false;
    } catch (err) {
      // Logged once per outage, not every few seconds.
      if (!this.#failing) {
        this.#deps.log.warn(
          { event: 'report_failed', server: this.#config.server, err: (err as Error).message },
          `cannot report to the Lazaret server at ${this.#config.server}: ${(err as Error).message}; the programs keep running and reports resume when it answers (set --server or LAZARET_URL)`,
        );
      }
      this.#failing = true;
    }
  }

  async #request(method: 'PUT' | 'DELETE', body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.#config.token) headers.authorization = `Bearer ${this.#config.token}`;
    const res = await request(this.#url, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(this.#ca === undefined ? {} : { ca: this.#ca }),
      timeoutMs: Math.max(1000, this.#config.reportIntervalMs),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.text.slice(0, 300)}`);
    try {
      return JSON.parse(res.text) as unknown;
    } catch {
      return null;
    }
  }
}

function isStuckCopy(v: unknown): v is StuckCopy {
  const o = v as Record<string, unknown> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    Number.isInteger(o.pid) &&
    typeof o.stuckMs === 'number' &&
    typeof o.handle === 'string' &&
    typeof o.function === 'string' &&
    typeof o.worker === 'string'
  );
}
