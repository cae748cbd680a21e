// Table rows as node-postgres returns them (BIGINT already a number, see connection.ts; BYTEA a Buffer;
// JSON parsed; TEXT[] an array), their conversion to the shared row types, and the values written.
// The values read back are narrowed by storage/narrow.ts, shared with the SQLite backend.

import type { AttemptRow, Evidence, JobRow, OutcomeRow, QuarantineRow, JobSummary } from '../types.js';
import { attemptsOf, evidenceOf, outcomeOf, priorityOf, reasonOf, stateOf, toJobSummaryWith, toOutcomeRowWith } from '../narrow.js';
import type { JobSummaryRecordBase, OutcomeRecordBase } from '../narrow.js';

// The narrowing shared by every backend, for this backend's modules.
export { attemptsJson, priorityOf, stateOf, toQuarantineSummary, type QuarantineSummaryRecord } from '../narrow.js';

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
  tags: string[] | null;
  state: string;
  coalesce_key: Buffer | null;
  queued_at: number;
}

/** The columns a JobRecord reads, for SELECT and RETURNING lists (`p` is a table alias prefix, e.g. 'j.'). */
export function jobColumns(p = ''): string {
  return ['id', 'handle', 'function', 'unique_key', 'payload', 'priority', 'submitted_at', 'run_at', 'deadline', 'tags', 'state', 'coalesce_key', 'queued_at']
    .map((c) => p + c)
    .join(', ');
}

export interface AttemptRecord {
  job_id: number;
  n: number;
  worker: string;
  started_at: number;
  ended_at: number | null;
  outcome: string | null;
  error: string | null;
  evidence: unknown;
}

export const ATTEMPT_COLUMNS = 'job_id, n, worker, started_at, ended_at, outcome, error, evidence';

const NO_TAGS: readonly string[] = Object.freeze([]);

// Evidence keeps every key it was given: core may grow the type, and the store must not drop fields.

function tagsOf(value: string[] | null): readonly string[] {
  return value === null || value.length === 0 ? NO_TAGS : value;
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
    tags: tagsOf(r.tags),
    state: stateOf(r.state, r.id),
    coalesceKey: r.coalesce_key === null ? null : r.coalesce_key.toString('utf8'),
    queuedAt: r.queued_at,
  };
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
    evidence: evidenceOf(r.evidence, 'attempts', r.job_id),
  };
}

export interface JobSummaryRecord extends JobSummaryRecordBase {
  tags: string[] | null;
}

export function toJobSummary(r: JobSummaryRecord): JobSummary {
  return toJobSummaryWith(r, tagsOf(r.tags));
}

/**
 * A text value as PostgreSQL can hold it: TEXT refuses the NUL character, so it becomes U+FFFD. Function
 * names and handles never hold one; an error message, a unique or a tag from outside might.
 */
export function text(value: string): string {
  return value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value;
}

export function textOrNull(value: string | null | undefined): string | null {
  return value === null || value === undefined ? null : text(value);
}

/** Tags as one value of a unnest() column: a JSON array, or null for none (stored as NULL). */
export function tagsJson(tags: readonly string[]): string | null {
  return tags.length === 0 ? null : JSON.stringify(tags.map(text));
}

/** SQL turning a tagsJson() value (a TEXT expression) back into TEXT[] or NULL. */
export function tagsFromJson(expr: string): string {
  return `CASE WHEN ${expr} IS NULL THEN NULL ELSE ARRAY(SELECT json_array_elements_text(${expr}::json)) END`;
}

export function tagsArray(tags: readonly string[]): string[] | null {
  return tags.length === 0 ? null : tags.map(text);
}

/** JSON text for a `json` column: JSON.stringify escapes NUL, which `json` keeps as written. */
export function evidenceJson(evidence: Evidence | null | undefined): string | null {
  return evidence === null || evidence === undefined ? null : JSON.stringify(evidence);
}

export function parseAttempts(value: unknown, table: string, id: number): AttemptRow[] {
  return attemptsOf(value, table, id);
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
  attempts: unknown;
  tags: string[] | null;
}

export const QUARANTINE_COLUMNS = 'id, handle, function, unique_key, payload, priority, submitted_at, deadline, reason, detail, quarantined_at, attempts, tags';

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
    tags: tagsOf(r.tags),
    reason: reasonOf(r.reason, r.id),
    detail: r.detail,
    quarantinedAt: r.quarantined_at,
    attempts: parseAttempts(r.attempts, 'quarantine', r.id),
  };
}

export interface OutcomeRecord extends OutcomeRecordBase {
  tags: string[] | null;
}

export const OUTCOME_COLUMNS =
  'id, handle, function, unique_key, priority, tags, submitted_at, run_at, started_at, finished_at, wait_ms, state, attempts, numerator, denominator, result';

export function toOutcomeRow(r: OutcomeRecord): OutcomeRow {
  return toOutcomeRowWith(r, tagsOf(r.tags));
}
