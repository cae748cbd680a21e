// Table rows as better-sqlite3 returns them (JSON as text), and their conversion to the shared row
// types. The values read back are narrowed by storage/narrow.ts, shared with the PostgreSQL backend.

import type { OutcomeRow, AttemptRow, Evidence, JobRow, QuarantineRow, JobSummary } from '../types.js';
import { attemptsOf, evidenceOf, outcomeOf, priorityOf, reasonOf, stateOf, toJobSummaryWith, toOutcomeRowWith } from '../narrow.js';
import type { JobSummaryRecordBase, OutcomeRecordBase } from '../narrow.js';

// The narrowing shared by every backend, for this backend's modules.
export { attemptsJson, priorityOf, stateOf, toQuarantineSummary, type QuarantineSummaryRecord } from '../narrow.js';
import { corruptRow } from './errors.js';

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

/** A stored job without payload, with its attempt count (listings). */
export interface JobSummaryRecord extends JobSummaryRecordBase {
  tags: string | null;
}

/** The columns of a JobSummaryRecord, for SELECTs FROM jobs. */
export const JOB_SUMMARY_COLUMNS =
  'id, handle, function, unique_key, priority, state, tags, submitted_at, queued_at, run_at, (SELECT count(*) FROM attempts WHERE job_id = jobs.id) AS attempts';

export function toJobSummary(r: JobSummaryRecord): JobSummary {
  return toJobSummaryWith(r, tagsOf(r.tags, 'jobs', r.id));
}

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

function parseJson(text: string, table: string, id: number): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw corruptRow(table, id, 'a JSON column does not parse');
  }
}

// Evidence keeps every key it was given: core may grow the type, and the store must not drop fields
// it does not know about.

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

export function parseAttempts(text: string, id: number): AttemptRow[] {
  return attemptsOf(parseJson(text, 'quarantine', id), 'quarantine', id);
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

export interface OutcomeRecord extends OutcomeRecordBase {
  tags: string | null;
}

export function toOutcomeRow(r: OutcomeRecord): OutcomeRow {
  return toOutcomeRowWith(r, tagsOf(r.tags, 'outcomes', r.id));
}
