// Shapes of the HTTP API (docs/http-api.md, docs/quarantine.md) as the dashboard reads them: from the
// server's JSON schemas (src/http/schemas.ts) where it has them, declared here where it has none yet
// (history, health).

import { QUARANTINE_REASONS, type Evidence, type PriorityName, type QuarantineReason } from '../../src/domain.js';
import type {
  AttemptAnswer,
  AuditAnswer,
  FunctionAnswer,
  ImpactAnswer,
  ImpactRowAnswer,
  JobAnswer,
  LifeAnswer,
  NodeAnswer,
  NodeListAnswer,
  PurgedAnswer,
  QuarantineEntryAnswer,
  QuarantineListAnswer,
  QuarantineSummaryAnswer,
  RequeuedAnswer,
  SupervisorAnswer,
  SupervisorListAnswer,
  WorkerAnswer,
} from '../../src/http/schemas.js';

export type Priority = PriorityName;

export type FunctionStats = FunctionAnswer;

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

/** `stuck`: its attempt timed out and it never answered: it gets no job until it answers or disconnects. */
export type WorkerInfo = WorkerAnswer;

/** A program's `recycled`: copies replaced on purpose (maxRuntime, rolling restart), not counted as failures. */
export type SupervisorInfo = SupervisorAnswer;

export type SupervisorList = SupervisorListAnswer;

/** `lives` and `audit` on the single-job answer only. */
export type JobInfo = JobAnswer;

export type Reason = QuarantineReason;
export const REASONS = QUARANTINE_REASONS;

export type QuarantineSummary = QuarantineSummaryAnswer;

export type { Evidence };

export type Attempt = AttemptAnswer;

/** A life of a job that ended: quarantined and then requeued or purged, or finished after a requeue. */
export type Life = LifeAnswer;

export type AuditEntry = AuditAnswer;

export type QuarantineEntry = QuarantineEntryAnswer;

export type QuarantineList = QuarantineListAnswer;

/** What requeue and payload edits answer: the jobs now queued again. */
export type Requeued = RequeuedAnswer;

export type Purged = PurgedAnswer;

export type ImpactRow = ImpactRowAnswer;

export type Impact = ImpactAnswer;

/** A node of the store, as its lease there says: `expired` once its lease ran out and no peer has rescued its jobs yet. */
export type NodeInfo = NodeAnswer;

export type NodeList = NodeListAnswer;
