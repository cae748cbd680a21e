// What `lazaret supervise` tells the server (PUT /api/supervisors/:id) and what the server answers,
// declared once for both sides: the supervisor builds it (reporter.ts), the server keeps it
// (observe/supervisors.ts) and validates it (http/routes/supervisors.ts). Types only, so the server may
// import this file without importing the supervisor (docs/architecture.md, Layers). GET /api/supervisors
// answers these shapes through http/schemas.ts; test/http/schema-types.test.ts keeps the two equal.

export interface ExitReport {
  /** ISO time. */
  at: string;
  code: number | null;
  signal: string | null;
  /** The copy's process id (supervisors before crash evidence did not send it). */
  pid?: number | null;
  /** The end of its stderr, sent while the exit is fresh. */
  stderr?: string;
  /** Why the supervisor ended it, when it did (e.g. killed for being stuck). */
  message?: string;
}

export interface ProgramReport {
  name: string;
  command: string;
  copies: number;
  running: number;
  restarts: number;
  /** Copies recycled for running longer than the program's maxRuntime. */
  recycled: number;
  flapping: boolean;
  lastExits: ExitReport[];
  /** Pids of its running copies. */
  pids?: number[];
}

export interface SupervisorReport {
  id: string;
  host: string;
  pid: number;
  /** How often this supervisor reports, ms; staleness is counted in these intervals. */
  intervalMs: number;
  programs: ProgramReport[];
}

/** A copy the server says is stuck: its worker connection is in a job that ran past its timeout. */
export interface StuckCopy {
  /** The copy's pid (the worker's own, or its process group's). */
  pid: number;
  worker: string;
  function: string;
  handle: string;
  /** How long since the job's timeout. */
  stuckMs: number;
}

/** The server's answer to a report. */
export interface ReportAnswer {
  ok: true;
  /** This supervisor's copies whose worker is stuck (only when it runs on the server's host). */
  stuck: StuckCopy[];
}
