// Table rows as better-sqlite3 returns them, and their conversion to the shared row types.
// Values read back are narrowed here, once, so a hand-edited database fails loudly instead of
// handing core a priority of 7 or an outcome it has never heard of.

import type {
  AttemptOutcome,
  OutcomeRow,
  OutcomeState,
  AttemptRow,
  Evidence,
  JobRow,
  Priority,
  QuarantineReason,
  QuarantineRow,
  QuarantineSummary,
  StoreState,
} from '../types.js';
import { corruptRow } from './errors.js';
import { ATTEMPT_OUTCOMES, QUARANTINE_REASONS } from '../../domain.js';

/** A value bound to a statement parameter. */
export type SqlValue = string | number | null;

export interface JobRecord {
  id: number;
  handle: string;
  function: string;
  unique_key: string;
  payload: Buffer;
  priority: number;
  submitted_at: number;
  run_at: number | null;
  deadline: number | null;
  tags: string | null;
  state: string;
  coalesce_key: string | null;
  queued_at: number;
}

/** The columns of a JobRecord, for SELECTs. */
export const JOB_COLUMNS = 'id, handle, function, unique_key, payload, priority, submitted_at, run_at, deadline, tags, state, coalesce_key, queued_at';

export interface AttemptRecord {
  job_id: number;
  n: number;
  worker: string;
  started_at: number;
  ended_at: number | null;
  outcome: string | null;
  error: string | null;
  evidence: string | null;
}

export interface QuarantineSummaryRecord {
  id: number;
  handle: string;
  function: string;
  unique_key: string;
  priority: number;
  reason: string;
  detail: string | null;
  attempt_count: number;
  payload_bytes: number;
  submitted_at: number;
  quarantined_at: number;
}

export interface QuarantineRecord {
  id: number;
  handle: string;
  function: string;
  unique_key: string;
  payload: Buffer;
  priority: number;
  submitted_at: number;
  deadline: number | null;
  reason: string;
  detail: string | null;
  quarantined_at: number;
  attempts: string;
  tags: string | null;
}

const OUTCOMES: ReadonlySet<string> = new Set<string>(ATTEMPT_OUTCOMES);
const REASONS: ReadonlySet<string> = new Set<string>(QUARANTINE_REASONS);

export function priorityOf(value: number, table: string, id: number): Priority {
  if (value === 0 || value === 1 || value === 2) return value;
  throw corruptRow(table, id, `priority ${value} is not 0, 1 or 2`);
}

function outcomeOf(value: string | null, table: string, id: number): AttemptOutcome | null {
  if (value === null) return null;
  if (OUTCOMES.has(value)) return value as AttemptOutcome;
  throw corruptRow(table, id, `attempt outcome "${value}" is unknown`);
}

function reasonOf(value: string, id: number): QuarantineReason {
  if (REASONS.has(value)) return value as QuarantineReason;
  throw corruptRow('quarantine', id, `reason "${value}" is unknown`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string, table: string, id: number): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw corruptRow(table, id, 'a JSON column does not parse');
  }
}

// Evidence keeps every key it was given: core may grow the type, and the store must not drop fields
// it does not know about.
function evidenceOf(value: unknown, table: string, id: number): Evidence | null {
  if (value === null || value === undefined) return null;
  if (isRecord(value)) return value as Evidence;
  throw corruptRow(table, id, 'evidence is not a JSON object');
}

export function toJobRow(r: JobRecord): JobRow {
  return {
    id: r.id,
    handle: r.handle,
    function: r.function,
    unique: r.unique_key,
    payload: r.payload,
    priority: priorityOf(r.priority, 'jobs', r.id),
    submittedAt: r.submitted_at,
    runAt: r.run_at,
    deadline: r.deadline,
    tags: tagsOf(r.tags, 'jobs', r.id),
    state: stateOf(r.state, r.id),
    coalesceKey: r.coalesce_key,
    queuedAt: r.queued_at,
  };
}

export function stateOf(value: string, id: number): StoreState {
  if (value === 'queued' || value === 'scheduled' || value === 'held') return value;
  throw corruptRow('jobs', id, `state "${value}" is not queued, scheduled or held`);
}

const NO_TAGS: readonly string[] = Object.freeze([]);

/** Tags as stored: a JSON array, or NULL for none (most jobs), so untagged rows spend no bytes. */
export function tagsJson(tags: readonly string[]): string | null {
  return tags.length === 0 ? null : JSON.stringify(tags);
}

export function tagsOf(value: string | null, table: string, id: number): readonly string[] {
  if (value === null) return NO_TAGS;
  const parsed = parseJson(value, table, id);
  if (!Array.isArray(parsed) || !parsed.every((t) => typeof t === 'string')) throw corruptRow(table, id, 'tags is not a JSON array of strings');
  return parsed as string[];
}

export function toAttemptRow(r: AttemptRecord): AttemptRow {
  return {
    jobId: r.job_id,
    n: r.n,
    worker: r.worker,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    outcome: outcomeOf(r.outcome, 'attempts', r.job_id),
    error: r.error,
    evidence: r.evidence === null ? null : evidenceOf(parseJson(r.evidence, 'attempts', r.job_id), 'attempts', r.job_id),
  };
}

export function evidenceJson(evidence: Evidence | null | undefined): string | null {
  return evidence === null || evidence === undefined ? null : JSON.stringify(evidence);
}

/** The attempts of a quarantine entry, as stored in its JSON column: oldest first. */
export function attemptsJson(attempts: readonly AttemptRow[]): string {
  const sorted = [...attempts].sort((a, b) => a.n - b.n);
  return JSON.stringify(
    sorted.map((a) => ({
      jobId: a.jobId,
      n: a.n,
      worker: a.worker,
      startedAt: a.startedAt,
      endedAt: a.endedAt,
      outcome: a.outcome,
      error: a.error,
      evidence: a.evidence,
    })),
  );
}

function numberOrNull(value: unknown): value is number | null {
  return value === null || typeof value === 'number';
}

function stringOrNull(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

export function parseAttempts(text: string, id: number): AttemptRow[] {
  const parsed = parseJson(text, 'quarantine', id);
  if (!Array.isArray(parsed)) throw corruptRow('quarantine', id, 'attempts is not a JSON array');
  return parsed.map((a: unknown): AttemptRow => {
    if (
      !isRecord(a) ||
      typeof a.jobId !== 'number' ||
      typeof a.n !== 'number' ||
      typeof a.worker !== 'string' ||
      typeof a.startedAt !== 'number' ||
      !numberOrNull(a.endedAt) ||
      !stringOrNull(a.outcome) ||
      !stringOrNull(a.error)
    ) {
      throw corruptRow('quarantine', id, 'an attempt lacks one of jobId, n, worker, startedAt, endedAt, outcome, error');
    }
    return {
      jobId: a.jobId,
      n: a.n,
      worker: a.worker,
      startedAt: a.startedAt,
      endedAt: a.endedAt,
      outcome: outcomeOf(a.outcome, 'quarantine', id),
      error: a.error,
      evidence: evidenceOf(a.evidence, 'quarantine', id),
    };
  });
}

export function toQuarantineRow(r: QuarantineRecord): QuarantineRow {
  return {
    id: r.id,
    handle: r.handle,
    function: r.function,
    unique: r.unique_key,
    payload: r.payload,
    priority: priorityOf(r.priority, 'quarantine', r.id),
    submittedAt: r.submitted_at,
    deadline: r.deadline,
    tags: tagsOf(r.tags, 'quarantine', r.id),
    reason: reasonOf(r.reason, r.id),
    detail: r.detail,
    quarantinedAt: r.quarantined_at,
    attempts: parseAttempts(r.attempts, r.id),
  };
}

export function toQuarantineSummary(r: QuarantineSummaryRecord): QuarantineSummary {
  return {
    id: r.id,
    handle: r.handle,
    function: r.function,
    unique: r.unique_key,
    priority: priorityOf(r.priority, 'quarantine', r.id),
    reason: reasonOf(r.reason, r.id),
    detail: r.detail,
    attempts: r.attempt_count,
    payloadBytes: r.payload_bytes,
    submittedAt: r.submitted_at,
    quarantinedAt: r.quarantined_at,
  };
}

export interface OutcomeRecord {
  id: number;
  handle: string;
  function: string;
  unique_key: string;
  priority: number;
  tags: string | null;
  submitted_at: number;
  run_at: number | null;
  started_at: number | null;
  finished_at: number;
  wait_ms: number;
  state: string;
  attempts: number;
  numerator: number | null;
  denominator: number | null;
  result: Buffer | null;
}

const OUTCOME_STATES: ReadonlySet<string> = new Set<OutcomeState>(['completed', 'failed', 'expired', 'quarantined']);

export function toOutcomeRow(r: OutcomeRecord): OutcomeRow {
  if (!OUTCOME_STATES.has(r.state)) throw corruptRow('outcomes', r.id, `state "${r.state}" is unknown`);
  return {
    id: r.id,
    handle: r.handle,
    function: r.function,
    unique: r.unique_key,
    priority: priorityOf(r.priority, 'outcomes', r.id),
    tags: tagsOf(r.tags, 'outcomes', r.id),
    submittedAt: r.submitted_at,
    runAt: r.run_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    waitMs: r.wait_ms,
    state: r.state as OutcomeState,
    attempts: r.attempts,
    progress: r.numerator === null || r.denominator === null ? null : { numerator: r.numerator, denominator: r.denominator },
    result: r.result,
  };
}
