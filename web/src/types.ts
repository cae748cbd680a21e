// Shapes of the HTTP API (docs/http-api.md, docs/quarantine.md) as the dashboard reads them.

import { QUARANTINE_REASONS, type PriorityName, type QuarantineReason } from '../../src/domain.js';

export type Priority = PriorityName;

export interface FunctionStats {
  name: string;
  queued: { high: number; normal: number; low: number; total: number };
  scheduled: number;
  running: number;
  workers: number;
  oldestQueuedMs: number | null;
  quarantined: number;
  rates: { submittedPerMin: number; completedPerMin: number; failedPerMin: number };
}

export interface HistorySample {
  queued: number;
  running: number;
  completed: number;
  failed: number;
}

export interface History {
  stepMs: number;
  points: { at: string; functions: Record<string, HistorySample> }[];
}

export interface HealthCheck {
  name: string;
  function?: string;
  state: 'ok' | 'fail';
  reason: string;
  value?: number | string;
  threshold?: number | string;
}

export interface Health {
  status: 'ok' | 'fail';
  checkedAt?: string;
  checks?: HealthCheck[];
}

export interface WorkerInfo {
  id: number;
  name: string;
  address: string;
  functions: string[];
  connectedAt: string;
  job: { handle: string; function: string; startedAt: string; runningMs: number; hung: boolean } | null;
  pid: number | null;
  /** Its attempt timed out and it never answered: it gets no job until it answers or disconnects. */
  stuck: { handle: string; function: string; startedAt: string; timedOutAt: string; stuckMs: number } | null;
}

export interface SupervisorInfo {
  id: string;
  host: string;
  pid: number;
  intervalMs?: number;
  reportedAt: string;
  stale: boolean;
  programs: {
    name: string;
    command: string;
    copies: number;
    running: number;
    restarts: number;
    /** Copies replaced on purpose (maxRuntime, rolling restart), not counted as failures. */
    recycled?: number;
    flapping: boolean;
    lastExits: { at: string; code: number | null; signal: string | null }[];
  }[];
}

export interface JobInfo {
  handle: string;
  function: string;
  unique: string;
  priority: Priority;
  state: 'queued' | 'scheduled' | 'running' | 'completed' | 'failed' | 'expired' | 'quarantined';
  progress: { numerator: number; denominator: number } | null;
  attempts: number;
  submittedAt: string | null;
  runAt: string | null;
  deadline: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  tags: string[];
  result?: { base64: string; text: string | null } | null;
  quarantineId: number | null;
  /** On the single-job answer only. */
  lives?: Life[];
  audit?: AuditEntry[];
}

export type Reason = QuarantineReason;
export const REASONS = QUARANTINE_REASONS;

export interface QuarantineSummary {
  id: number;
  handle: string;
  function: string;
  unique: string;
  priority: Priority;
  reason: Reason;
  detail: string;
  attempts: number;
  payloadBytes: number;
  submittedAt: string;
  quarantinedAt: string;
}

export interface Evidence {
  exitCode?: number;
  signal?: string;
  stderr?: string;
  errorClass?: string;
  message?: string;
}

export interface Attempt {
  n: number;
  worker: string;
  startedAt: string;
  endedAt: string | null;
  outcome: string | null;
  error: string | null;
  evidence: Evidence | null;
}

/** A life of a job that ended: quarantined and then requeued or purged, or finished after a requeue. */
export interface Life {
  life: number;
  end: string;
  detail: string | null;
  endedAt: string;
  endedBy: string;
  attempts: Attempt[];
}

export interface AuditEntry {
  at: string;
  action: string;
  actor: string;
  client: string | null;
  peer: string | null;
}

export interface QuarantineEntry extends QuarantineSummary {
  deadline: string | null;
  payloadBase64: string;
  payloadPreview: string;
  payloadTruncated: boolean;
  attemptList: Attempt[];
  lives: Life[];
  audit: AuditEntry[];
}

export interface QuarantineList {
  total: number;
  entries: QuarantineSummary[];
  nextBeforeId: number | null;
}

export interface ImpactRow {
  tag: string;
  jobs: number;
  waitedTooLong: number;
  failed: number;
  expired: number;
  quarantined: number;
  worstWaitMs: number | null;
}

export interface Impact {
  since: string;
  until: string;
  rows: ImpactRow[];
}
