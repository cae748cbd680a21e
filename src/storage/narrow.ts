// Values read back from a store, narrowed once to the shared row types, for every backend: a
// hand-edited database fails loudly instead of handing core a priority of 7 or an outcome it has never
// heard of. Each backend's rows.ts reads its own column types (JSON text or parsed JSON, tags as text
// or as an array) and hands the values here.

import { ATTEMPT_OUTCOMES, QUARANTINE_REASONS } from '../domain.js';
import { ErrorCode, LazaretError } from '../errors.js';
import type {
  AlertRow,
  AttemptOutcome,
  AttemptRow,
  Evidence,
  HistoryAction,
  HistoryEntry,
  JobLife,
  JobSummary,
  OutcomeRow,
  OutcomeState,
  Priority,
  QuarantineReason,
  QuarantineSummary,
  StoreState,
} from './types.js';

const OUTCOMES: ReadonlySet<string> = new Set<string>(ATTEMPT_OUTCOMES);
const REASONS: ReadonlySet<string> = new Set<string>(QUARANTINE_REASONS);
const STATES: ReadonlySet<string> = new Set<string>(['queued', 'scheduled', 'held'] satisfies StoreState[]);
const OUTCOME_STATES: ReadonlySet<string> = new Set<string>(['completed', 'failed', 'expired', 'quarantined'] satisfies OutcomeState[]);

export function corruptRow(table: string, id: number, what: string): LazaretError {
  return new LazaretError(ErrorCode.STORE_FAILED, `Row ${id} of table ${table} is corrupt: ${what}.`, {
    hint: 'The database was changed outside Lazaret; restore it from a backup or fix the row by hand.',
  });
}

export function priorityOf(value: number, table: string, id: number): Priority {
  if (value === 0 || value === 1 || value === 2) return value;
  throw corruptRow(table, id, `priority ${value} is not 0, 1 or 2`);
}

export function outcomeOf(value: unknown, table: string, id: number): AttemptOutcome | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' && OUTCOMES.has(value)) return value as AttemptOutcome;
  throw corruptRow(table, id, `attempt outcome "${String(value)}" is unknown`);
}

export function reasonOf(value: string, id: number): QuarantineReason {
  if (REASONS.has(value)) return value as QuarantineReason;
  throw corruptRow('quarantine', id, `reason "${value}" is unknown`);
}

export function stateOf(value: string, id: number): StoreState {
  if (STATES.has(value)) return value as StoreState;
  throw corruptRow('jobs', id, `state "${value}" is not queued, scheduled or held`);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Evidence keeps every key it was given: core may grow the type, and the store must not drop fields
// it does not know about.
export function evidenceOf(value: unknown, table: string, id: number): Evidence | null {
  if (value === null || value === undefined) return null;
  if (isRecord(value)) return value as Evidence;
  throw corruptRow(table, id, 'evidence is not a JSON object');
}

/** The attempts of a quarantine entry or a history life, as stored in a JSON column: oldest first. */
export function attemptsJson(attempts: readonly AttemptRow[]): string {
  return JSON.stringify(
    [...attempts]
      .sort((a, b) => a.n - b.n)
      .map((a) => ({
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

/** Attempts as attemptsJson() wrote them, parsed: each one checked. */
export function attemptsOf(parsed: unknown, table: string, id: number): AttemptRow[] {
  if (!Array.isArray(parsed)) throw corruptRow(table, id, 'attempts is not a JSON array');
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

/** A quarantine listing row, the same columns in every backend. */
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

/** An outcomes row but its tags, which each backend stores its own way. */
export interface OutcomeRecordBase {
  id: number;
  handle: string;
  function: string;
  unique_key: string;
  priority: number;
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

export function toOutcomeRowWith(r: OutcomeRecordBase, tags: readonly string[]): OutcomeRow {
  if (!OUTCOME_STATES.has(r.state)) throw corruptRow('outcomes', r.id, `state "${r.state}" is unknown`);
  return {
    id: r.id,
    handle: r.handle,
    function: r.function,
    unique: r.unique_key,
    priority: priorityOf(r.priority, 'outcomes', r.id),
    tags,
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

/** A jobs listing row but its tags, which each backend stores its own way. */
export interface JobSummaryRecordBase {
  id: number;
  handle: string;
  function: string;
  unique_key: string;
  priority: number;
  state: string;
  submitted_at: number;
  queued_at: number;
  run_at: number | null;
  attempts: number;
}

export function toJobSummaryWith(r: JobSummaryRecordBase, tags: readonly string[]): JobSummary {
  return {
    id: r.id,
    handle: r.handle,
    function: r.function,
    unique: r.unique_key,
    priority: priorityOf(r.priority, 'jobs', r.id),
    state: stateOf(r.state, r.id),
    tags,
    submittedAt: r.submitted_at,
    queuedAt: r.queued_at,
    runAt: r.run_at,
    attempts: r.attempts,
  };
}

/** An alert outbox row, the same columns in every backend. */
export interface AlertRecord {
  id: number;
  hook: string;
  event: string;
  delivery: string;
  body: string;
  created_at: number;
  attempts: number;
  next_at: number;
  failing_since: number | null;
  last_error: string | null;
}

export function toAlert(r: AlertRecord): AlertRow {
  return {
    id: r.id,
    hook: r.hook,
    event: r.event,
    delivery: r.delivery,
    body: r.body,
    createdAt: r.created_at,
    attempts: r.attempts,
    nextAt: r.next_at,
    failingSince: r.failing_since,
    lastError: r.last_error,
  };
}

/** A job_history row but its life, which each backend stores its own way (JSON text or parsed JSON). */
export interface HistoryRecordBase {
  seq: number;
  job_id: number;
  at: number;
  action: string;
  actor: string;
  client: string | null;
  peer: string | null;
}

const ACTIONS: ReadonlySet<string> = new Set<string>(['requeued', 'edited', 'purged', 'finished'] satisfies HistoryAction[]);
const ACTORS: ReadonlySet<string> = new Set<string>(['token', 'loopback', 'anonymous', 'server'] satisfies HistoryEntry['actor'][]);

/** `life` parsed from its JSON (or null for an entry without one). */
export function toHistoryEntry(r: HistoryRecordBase, life: unknown): HistoryEntry {
  if (!ACTIONS.has(r.action) || !ACTORS.has(r.actor)) throw corruptRow('job_history', r.job_id, `unknown action ${r.action} or actor ${r.actor}`);
  return {
    seq: r.seq,
    jobId: r.job_id,
    at: r.at,
    action: r.action as HistoryAction,
    actor: r.actor as HistoryEntry['actor'],
    client: r.client,
    peer: r.peer,
    life: life === null ? null : lifeOf(life, r.job_id),
  };
}

function lifeOf(value: unknown, jobId: number): JobLife {
  const l = (isRecord(value) ? value : {}) as { end?: unknown; detail?: unknown; endedAt?: unknown; attempts?: unknown };
  if (typeof l.end !== 'string' || typeof l.endedAt !== 'number' || (l.detail !== null && typeof l.detail !== 'string')) {
    throw corruptRow('job_history', jobId, 'life lacks end, detail or endedAt');
  }
  return { end: l.end, detail: l.detail as string | null, endedAt: l.endedAt, attempts: attemptsOf(l.attempts ?? [], 'job_history', jobId) };
}
