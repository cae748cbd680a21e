// What `lazaret supervise` processes report about the worker programs they keep running
// (PUT /api/supervisors/:id). Kept in memory only: a supervisor reports again within seconds, so a
// restarted server knows them all again after one interval.

import type { Clock } from '../core/clock.js';
import type { Death, Supervision } from '../core/deaths.js';
import type { ExitReport, ProgramReport, ReportAnswer, StuckCopy, SupervisorReport } from '../supervisor/report.js';

export type { ExitReport, ProgramReport, ReportAnswer, StuckCopy, SupervisorReport };

export interface SupervisorView extends SupervisorReport {
  /** Epoch ms of the last report. */
  reportedAt: number;
  /** Not heard from for STALE_INTERVALS intervals: the supervisor (or its host) may be down. */
  stale: boolean;
}

/** A check in the shape /health lists them. */
export interface SupervisorCheck {
  name: 'supervisor';
  function?: string;
  state: 'ok' | 'fail';
  reason: string;
}

function exitKey(program: string, e: ExitReport): string {
  return `${program}\0${e.pid ?? ''}\0${e.at}`;
}

export const STALE_INTERVALS = 3;
export const DEFAULT_REPORT_INTERVAL_MS = 5000;

export class SupervisorRegistry implements Supervision {
  readonly #clock: Clock;
  readonly #reports = new Map<string, { report: SupervisorReport; reportedAt: number }>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /**
   * Stores a report; returns the deaths it tells of for the first time. The first report of a
   * supervisor (or after a server restart) tells only of history: no deaths.
   */
  report(report: SupervisorReport): Death[] {
    const before = this.#reports.get(report.id)?.report;
    this.#reports.set(report.id, { report, reportedAt: this.#clock.now() });
    if (before === undefined) return [];
    const seen = new Set(before.programs.flatMap((p) => p.lastExits.map((e) => exitKey(p.name, e))));
    const deaths: Death[] = [];
    for (const p of report.programs) {
      for (const e of p.lastExits) {
        if (typeof e.pid !== 'number' || seen.has(exitKey(p.name, e))) continue;
        deaths.push({
          supervisor: report.id,
          program: p.name,
          pid: e.pid,
          code: e.code,
          signal: e.signal,
          stderr: e.stderr ?? null,
          message: e.message ?? null,
        });
      }
    }
    return deaths;
  }

  /** The supervisor (not stale) that runs this process as a copy of one of its programs. */
  owner(pids: readonly (number | null)[]): { supervisor: SupervisorView; program: ProgramReport; pid: number } | null {
    for (const supervisor of this.list()) {
      if (supervisor.stale) continue;
      for (const program of supervisor.programs) {
        const pid = pids.find((p) => p !== null && program.pids?.includes(p));
        if (pid !== undefined && pid !== null) return { supervisor, program, pid };
      }
    }
    return null;
  }

  supervises(pids: readonly (number | null)[]): boolean {
    return this.owner(pids) !== null;
  }

  /** A supervisor that stopped on purpose says goodbye, so it does not turn stale. */
  remove(id: string): boolean {
    return this.#reports.delete(id);
  }

  list(): SupervisorView[] {
    const now = this.#clock.now();
    return [...this.#reports.values()]
      .map(({ report, reportedAt }) => ({ ...report, reportedAt, stale: now - reportedAt > STALE_INTERVALS * report.intervalMs }))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Programs that keep dying, with the supervisor that runs them. */
  flapping(): { supervisor: SupervisorView; program: ProgramReport }[] {
    return this.list().flatMap((supervisor) => supervisor.programs.filter((p) => p.flapping).map((program) => ({ supervisor, program })));
  }

  /** One failing check per stale supervisor and per flapping program; one ok check when all is well. */
  checks(): SupervisorCheck[] {
    const all = this.list();
    if (all.length === 0) return [];
    const now = this.#clock.now();
    const checks: SupervisorCheck[] = [];
    for (const s of all) {
      if (s.stale) {
        checks.push({
          name: 'supervisor',
          state: 'fail',
          reason: `supervisor ${s.id} (pid ${s.pid} on ${s.host}) not heard from for ${Math.round((now - s.reportedAt) / 1000)}s`,
        });
      }
    }
    for (const { supervisor, program } of this.flapping()) {
      const last = program.lastExits[program.lastExits.length - 1];
      const how = last ? (last.signal ? `signal ${last.signal}` : `exit code ${last.code}`) : 'unknown';
      checks.push({
        name: 'supervisor',
        function: program.name,
        state: 'fail',
        reason: `program ${program.name} under supervisor ${supervisor.id} is flapping: ${program.running}/${program.copies} running, ${program.restarts} restarts, last exit ${how}`,
      });
    }
    if (checks.length === 0) {
      const programs = all.reduce((n, s) => n + s.programs.length, 0);
      checks.push({ name: 'supervisor', state: 'ok', reason: `${all.length} supervisor(s), ${programs} program(s), none flapping` });
    }
    return checks;
  }
}
