// Table rows as node-postgres returns them (BIGINT already a number, see connection.ts; BYTEA a Buffer;
// JSON parsed; TEXT[] an array), their conversion to the shared row types, and the values written.
// Values read back are narrowed here, once, so a hand-edited database fails loudly instead of handing
// core a priority of 7 or an outcome it has never heard of.

import { ATTEMPT_OUTCOMES, QUARANTINE_REASONS } from '../../domain.js';
import type {
  AttemptOutcome,
  AttemptRow,
  Evidence,
  JobRow,
  OutcomeRow,
  OutcomeState,
  Priority,
  QuarantineReason,
  QuarantineRow,
  QuarantineSummary,
  JobSummary,
  StoreState,
} from '../types.js';
import { corruptRow } from './errors.js';

const STORE_STATES: readonly StoreState[] = ['queued', 'scheduled', 'held'];

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

const OUTCOMES: ReadonlySet<string> = new Set<string>(ATTEMPT_OUTCOMES);
const REASONS: ReadonlySet<string> = new Set<string>(QUARANTINE_REASONS);
const STATES: ReadonlySet<string> = new Set<string>(STORE_STATES);
const NO_TAGS: readonly string[] = Object.freeze([]);

function priorityOf(value: number, table: string, id: number): Priority {
  if (value === 0 || value === 1 || value === 2) return value;
  throw corruptRow(table, id, `priority ${value} is not 0, 1 or 2`);
}

function outcomeOf(value: unknown, table: string, id: number): AttemptOutcome | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' && OUTCOMES.has(value)) return value as AttemptOutcome;
  throw corruptRow(table, id, `attempt outcome "${String(value)}" is unknown`);
}

function reasonOf(value: string, id: number): QuarantineReason {
  if (REASONS.has(value)) return value as QuarantineReason;
  throw corruptRow('quarantine', id, `reason "${value}" is unknown`);
}

export function stateOf(value: string, id: number): StoreState {
  if (STATES.has(value)) return value as StoreState;
  throw corruptRow('jobs', id, `state "${value}" is unknown`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Evidence keeps every key it was given: core may grow the type, and the store must not drop fields.
function evidenceOf(value: unknown, table: string, id: number): Evidence | null {
  if (value === null || value === undefined) return null;
  if (isRecord(value)) return value as Evidence;
  throw corruptRow(table, id, 'evidence is not a JSON object');
}

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

export interface JobSummaryRecord {
  id: number;
  handle: string;
  function: string;
  unique_key: string;
  priority: number;
  state: string;
  tags: string[] | null;
  submitted_at: number;
  queued_at: number;
  run_at: number | null;
  attempts: number;
}

export function toJobSummary(r: JobSummaryRecord): JobSummary {
  return {
    id: r.id,
    handle: r.handle,
    function: r.function,
    unique: r.unique_key,
    priority: priorityOf(r.priority, 'jobs', r.id),
    state: stateOf(r.state, r.id),
    tags: tagsOf(r.tags),
    submittedAt: r.submitted_at,
    queuedAt: r.queued_at,
    runAt: r.run_at,
    attempts: r.attempts,
  };
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

function plainAttempt(a: AttemptRow): Record<string, unknown> {
  return {
    jobId: a.jobId,
    n: a.n,
    worker: a.worker,
    startedAt: a.startedAt,
    endedAt: a.endedAt,
    outcome: a.outcome,
    error: a.error,
    evidence: a.evidence,
  };
}

/** The attempts of a quarantine entry or a history life, as stored in a JSON column: oldest first. */
export function attemptsJson(attempts: readonly AttemptRow[]): string {
  return JSON.stringify([...attempts].sort((a, b) => a.n - b.n).map(plainAttempt));
}

function numberOrNull(value: unknown): value is number | null {
  return value === null || typeof value === 'number';
}

function stringOrNull(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

export function parseAttempts(value: unknown, table: string, id: number): AttemptRow[] {
  if (!Array.isArray(value)) throw corruptRow(table, id, 'attempts is not a JSON array');
  return value.map((a: unknown): AttemptRow => {
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
      throw corruptRow(table, id, 'an attempt lacks one of jobId, n, worker, startedAt, endedAt, outcome, error');
    }
    return {
      jobId: a.jobId,
      n: a.n,
      worker: a.worker,
      startedAt: a.startedAt,
      endedAt: a.endedAt,
      outcome: outcomeOf(a.outcome, table, id),
      error: a.error,
      evidence: evidenceOf(a.evidence, table, id),
    };
  });
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
  tags: string[] | null;
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

export const OUTCOME_COLUMNS =
  'id, handle, function, unique_key, priority, tags, submitted_at, run_at, started_at, finished_at, wait_ms, state, attempts, numerator, denominator, result';

const OUTCOME_STATES: ReadonlySet<string> = new Set<OutcomeState>(['completed', 'failed', 'expired', 'quarantined']);

export function toOutcomeRow(r: OutcomeRecord): OutcomeRow {
  if (!OUTCOME_STATES.has(r.state)) throw corruptRow('outcomes', r.id, `state "${r.state}" is unknown`);
  return {
    id: r.id,
    handle: r.handle,
    function: r.function,
    unique: r.unique_key,
    priority: priorityOf(r.priority, 'outcomes', r.id),
    tags: tagsOf(r.tags),
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
