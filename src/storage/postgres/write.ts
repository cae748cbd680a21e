// write(): one group commit, one transaction, fields applied in the order WriteBatch declares them. Each
// field is one statement whatever its size: its rows travel as arrays, one per column, and unnest()
// turns them back into rows (very large fields go CHUNK rows at a time), so a commit of 500 starts is
// one round trip, not 500. The statements are named: each connection prepares them once.
//
// New jobs coalesce in the store: the unique index on (function, coalesce_key) decides, and a job that
// meets a stored one of its function with the same key is not inserted (ON CONFLICT … DO NOTHING); the
// result names the job it met, and the rest of the batch leaves the one not stored alone.

import type {
  AttemptEnd,
  Priority,
  AttemptStart,
  Coalesced,
  JobRow,
  LateEvidence,
  NewHistoryEntry,
  OutcomeRow,
  QuarantineRow,
  QueuedIn,
  WriteBatch,
  WriteResult,
} from '../types.js';
import type { Runner } from './connection.js';
import { notifyQueued, payloadOf } from './notify.js';
import { attemptsJson, evidenceJson, tagsFromJson, tagsJson, text, textOrNull } from './rows.js';

/** Rows per statement at most (a statement's parameters are held in memory whole, on both sides). */
export const CHUNK = 5000;
/** Payload bytes per statement at most, for the fields that carry payloads. */
export const CHUNK_BYTES = 16 * 1024 * 1024;

export const WATERMARK_KEY = 'id_watermark';

/** Who holds the rows this node takes: its id and the epoch of its open(). */
export interface Holder {
  owner: string;
  epoch: number;
}

/** `rows` in parts of at most CHUNK rows and, when `bytes` is given, about CHUNK_BYTES of payload. */
function chunks<T>(rows: readonly T[], bytes?: (row: T) => number): T[][] {
  const out: T[][] = [];
  let part: T[] = [];
  let size = 0;
  for (const row of rows) {
    const b = bytes === undefined ? 0 : bytes(row);
    if (part.length === CHUNK || (part.length > 0 && size + b > CHUNK_BYTES)) {
      out.push(part);
      part = [];
      size = 0;
    }
    part.push(row);
    size += b;
  }
  if (part.length > 0) out.push(part);
  return out;
}

/**
 * Byte strings as one parameter: node-postgres sends a Buffer in binary, whereas an array of them
 * travels as hex text (twice the bytes, and slow to build). The statement cuts them out again with
 * bytesAt(), from the 1-based offsets and lengths (null length: NULL).
 */
export function packBytes(values: readonly (Buffer | null)[]): [Buffer, number[], (number | null)[]] {
  const offsets: number[] = [];
  const lengths: (number | null)[] = [];
  let at = 1;
  for (const v of values) {
    offsets.push(at);
    lengths.push(v === null ? null : v.length);
    at += v === null ? 0 : v.length;
  }
  return [Buffer.concat(values.filter((v): v is Buffer => v !== null)), offsets, lengths];
}

/** SQL cutting one value out of a packBytes() parameter. */
function bytesAt(blob: string, offset: string, length: string): string {
  return `CASE WHEN ${length} IS NULL THEN NULL ELSE substring(${blob}::bytea FROM ${offset} FOR ${length}) END`;
}

const INSERT_JOBS = {
  name: 'lz_insert_jobs',
  text: `INSERT INTO jobs (id, handle, function, unique_key, payload, priority, submitted_at, run_at, deadline, tags,
           state, seq, coalesce_key, queued_at, owner, epoch)
         SELECT u.id, u.handle, u.fn, u.uk, ${bytesAt('$5', 'u.off', 'u.len')}, u.priority, u.submitted_at, u.run_at, u.deadline, ${tagsFromJson('u.tags')},
           u.state, nextval('job_seq'), u.ck, u.queued_at,
           CASE WHEN u.state = 'held' THEN $14::text END, CASE WHEN u.state = 'held' THEN $15::bigint END
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $16::int[], $17::int[], $6::smallint[], $7::bigint[], $8::bigint[],
           $9::bigint[], $10::text[], $11::text[], $12::bytea[], $13::bigint[])
           WITH ORDINALITY AS u(id, handle, fn, uk, off, len, priority, submitted_at, run_at, deadline, tags, state, ck, queued_at, ord)
         ORDER BY u.ord
         ON CONFLICT (function, coalesce_key) WHERE coalesce_key IS NOT NULL DO NOTHING
         RETURNING id`,
};

const EXISTING_KEYS = {
  name: 'lz_existing_keys',
  text: `SELECT k.id AS new_id, j.id, j.handle FROM unnest($1::bigint[], $2::text[], $3::bytea[]) AS k(id, fn, ck)
         JOIN jobs j ON j.function = k.fn AND j.coalesce_key = k.ck`,
};

const coalesceKeys = (rows: readonly JobRow[]): (Buffer | null)[] => rows.map((j) => (j.coalesceKey === null ? null : Buffer.from(j.coalesceKey, 'utf8')));

function insertJobsParams(part: readonly JobRow[], keys: readonly (Buffer | null)[], holder: Holder): unknown[] {
  const [payloads, offsets, lengths] = packBytes(part.map((j) => j.payload));
  return [
    part.map((j) => j.id),
    part.map((j) => text(j.handle)),
    part.map((j) => text(j.function)),
    part.map((j) => text(j.unique)),
    payloads,
    part.map((j) => j.priority),
    part.map((j) => j.submittedAt),
    part.map((j) => j.runAt),
    part.map((j) => j.deadline),
    part.map((j) => tagsJson(j.tags)),
    part.map((j) => j.state),
    keys,
    part.map((j) => j.queuedAt),
    holder.owner,
    holder.epoch,
    offsets,
    lengths,
  ];
}

/**
 * New jobs that were not inserted, each with the stored job of its function and key it met; a job whose
 * twin has gone since (another node's commit deleted it) is not in the answer.
 */
export async function storedTwins(tx: Runner, rows: readonly JobRow[]): Promise<Coalesced[]> {
  if (rows.length === 0) return [];
  const existing = await tx.query<{ new_id: number; id: number; handle: string }>(EXISTING_KEYS, [
    rows.map((j) => j.id),
    rows.map((j) => j.function),
    coalesceKeys(rows),
  ]);
  return existing.map((e) => {
    // A skipped row that met a job of its own id: the id was handed out twice, which must never be.
    if (e.id === e.new_id) throw new Error(`a new job has the id ${e.id} of a stored job; a job id was handed out twice`);
    return { id: e.new_id, existingId: e.id, existingHandle: e.handle };
  });
}

async function insertJobs(tx: Runner, rows: readonly JobRow[], holder: Holder): Promise<Coalesced[]> {
  const coalesced: Coalesced[] = [];
  for (const part of chunks(rows, (j) => j.payload.length)) {
    const keys = coalesceKeys(part);
    const inserted = await tx.query<{ id: number }>(INSERT_JOBS, insertJobsParams(part, keys, holder));
    if (inserted.length === part.length) continue;
    const stored = new Set(inserted.map((r) => r.id));
    const missing = part.filter((j) => !stored.has(j.id) && j.coalesceKey !== null);
    const met = await storedTwins(tx, missing);
    coalesced.push(...met);
    // A job not inserted whose key no stored job has now: the one it met was deleted by another node's
    // commit in between. Rare; the batch fails and the engine's retry stores it.
    if (met.length !== missing.length) throw new Error('a coalesced job met a stored job that has since gone; retry the batch');
  }
  return coalesced;
}

const START_ATTEMPTS = {
  name: 'lz_start_attempts',
  text: `INSERT INTO attempts (job_id, n, worker, started_at)
         SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::bigint[])`,
};

const startAttemptsParams = (part: readonly AttemptStart[]): unknown[] => [
  part.map((a) => a.jobId),
  part.map((a) => a.n),
  part.map((a) => text(a.worker)),
  part.map((a) => a.startedAt),
];

async function startAttempts(tx: Runner, rows: readonly AttemptStart[]): Promise<void> {
  for (const part of chunks(rows)) await tx.run(START_ATTEMPTS, startAttemptsParams(part));
}

const END_ATTEMPTS = {
  name: 'lz_end_attempts',
  text: `UPDATE attempts a SET ended_at = u.ended_at, outcome = u.outcome, error = u.error, evidence = u.evidence::json,
           worker = coalesce(u.worker, a.worker)
         FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[]) AS u(job_id, n, ended_at, outcome, error, evidence, worker)
         WHERE a.job_id = u.job_id AND a.n = u.n`,
};

// A job going back to its queue takes a new place at the back of the line (a new seq), unless it waits
// for its run-at time (it gets one when it is due).
const REQUEUE = {
  name: 'lz_requeue',
  text: `UPDATE jobs j SET state = u.state, run_at = u.run_at, queued_at = u.queued_at,
           seq = CASE WHEN u.state = 'scheduled' THEN j.seq ELSE nextval('job_seq') END,
           owner = CASE WHEN u.state = 'held' THEN $5::text END, epoch = CASE WHEN u.state = 'held' THEN $6::bigint END
         FROM (SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[]) WITH ORDINALITY AS u(id, state, run_at, queued_at, ord) ORDER BY ord) u
         WHERE j.id = u.id
         RETURNING j.function, j.priority, u.state`,
};

const endAttemptsParams = (part: readonly AttemptEnd[]): unknown[] => [
  part.map((e) => e.jobId),
  part.map((e) => e.n),
  part.map((e) => e.endedAt),
  part.map((e) => e.outcome),
  part.map((e) => textOrNull(e.error)),
  part.map((e) => evidenceJson(e.evidence)),
  part.map((e) => (e.worker === undefined ? null : text(e.worker))),
];

const requeueParams = (requeues: readonly AttemptEnd[], holder: Holder): unknown[] => [
  requeues.map((e) => e.jobId),
  requeues.map((e) => e.requeue?.state),
  requeues.map((e) => e.requeue?.runAt ?? null),
  requeues.map((e) => e.requeue?.queuedAt),
  holder.owner,
  holder.epoch,
];

// Ending (or requeueing) an attempt of a row that is not stored changes nothing rather than failing the
// whole group commit, whose other callers did nothing wrong. The queues of jobs requeued `queued` go
// into `queued`.
async function endAttempts(tx: Runner, rows: readonly AttemptEnd[], holder: Holder, queued: QueuedIn[]): Promise<void> {
  for (const part of chunks(rows)) {
    await tx.run(END_ATTEMPTS, endAttemptsParams(part));
    const requeues = part.filter((e) => e.requeue !== undefined);
    if (requeues.length > 0) {
      const back = await tx.query<{ function: string; priority: Priority; state: string }>(REQUEUE, requeueParams(requeues, holder));
      for (const r of back) if (r.state === 'queued') queued.push(r);
    }
  }
}

// Back to the store's queue, keeping the place in line: another node may take them now.
const RELEASE = {
  name: 'lz_release',
  text: `UPDATE jobs SET state = 'queued', owner = NULL, epoch = NULL WHERE id = ANY($1::bigint[]) AND state = 'held' RETURNING function, priority`,
};

const INSERT_QUARANTINE = {
  name: 'lz_insert_quarantine',
  text: `INSERT INTO quarantine (id, handle, function, unique_key, payload, priority, submitted_at, deadline, tags,
           reason, detail, quarantined_at, attempt_count, attempts)
         SELECT u.id, u.handle, u.fn, u.uk, ${bytesAt('$5', 'u.off', 'u.len')}, u.priority, u.submitted_at, u.deadline, ${tagsFromJson('u.tags')},
           u.reason, u.detail, u.quarantined_at, u.attempt_count, a.attempts
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $15::int[], $16::int[], $6::smallint[], $7::bigint[], $8::bigint[],
           $9::text[], $10::text[], $11::text[], $12::bigint[], $13::int[]) WITH ORDINALITY
           AS u(id, handle, fn, uk, off, len, priority, submitted_at, deadline, tags, reason, detail, quarantined_at, attempt_count, ord)
         JOIN json_array_elements($14::json) WITH ORDINALITY AS a(attempts, ord) ON a.ord = u.ord`,
};

async function insertQuarantine(tx: Runner, rows: readonly QuarantineRow[]): Promise<void> {
  for (const part of chunks(rows, (q) => q.payload.length)) {
    const [payloads, offsets, lengths] = packBytes(part.map((q) => q.payload));
    await tx.run(INSERT_QUARANTINE, [
      part.map((q) => q.id),
      part.map((q) => text(q.handle)),
      part.map((q) => text(q.function)),
      part.map((q) => text(q.unique)),
      payloads,
      part.map((q) => q.priority),
      part.map((q) => q.submittedAt),
      part.map((q) => q.deadline ?? null),
      part.map((q) => tagsJson(q.tags)),
      part.map((q) => q.reason),
      part.map((q) => textOrNull(q.detail)),
      part.map((q) => q.quarantinedAt),
      part.map((q) => q.attempts.length),
      // One JSON array for the column: far cheaper to send than an array of JSON texts, each escaped.
      `[${part.map((q) => attemptsJson(q.attempts)).join(',')}]`,
      offsets,
      lengths,
    ]);
  }
}

// Jobs and their attempts in one statement (one round trip): the foreign key is checked at its end,
// when neither is left.
const DELETE_ATTEMPTS_OF = 'DELETE FROM attempts WHERE job_id = ANY($1::bigint[])';
const DELETE_JOB_ROWS = 'DELETE FROM jobs WHERE id = ANY($1::bigint[])';
const DELETE_JOBS = { name: 'lz_delete_jobs', text: `WITH a AS (${DELETE_ATTEMPTS_OF}) ${DELETE_JOB_ROWS}` };

export async function removeJobs(tx: Runner, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await tx.run(DELETE_JOBS, [ids]);
}

// A job requeued from quarantine keeps its id, and its latest ending is the one that counts.
const INSERT_OUTCOMES = {
  name: 'lz_insert_outcomes',
  text: `INSERT INTO outcomes (id, handle, function, unique_key, priority, tags, submitted_at, run_at, started_at,
           finished_at, wait_ms, state, attempts, numerator, denominator, result)
         SELECT u.id, u.handle, u.fn, u.uk, u.priority, ${tagsFromJson('u.tags')}, u.submitted_at, u.run_at, u.started_at,
           u.finished_at, u.wait_ms, u.state, u.attempts, u.numerator, u.denominator, ${bytesAt('$16', 'u.off', 'u.len')}
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::smallint[], $6::text[], $7::bigint[], $8::bigint[],
           $9::bigint[], $10::bigint[], $11::bigint[], $12::text[], $13::int[], $14::bigint[], $15::bigint[], $17::int[], $18::int[])
           AS u(id, handle, fn, uk, priority, tags, submitted_at, run_at, started_at, finished_at, wait_ms, state, attempts,
             numerator, denominator, off, len)
         ON CONFLICT (id) DO UPDATE SET handle = excluded.handle, function = excluded.function, unique_key = excluded.unique_key,
           priority = excluded.priority, tags = excluded.tags, submitted_at = excluded.submitted_at, run_at = excluded.run_at,
           started_at = excluded.started_at, finished_at = excluded.finished_at, wait_ms = excluded.wait_ms, state = excluded.state,
           attempts = excluded.attempts, numerator = excluded.numerator, denominator = excluded.denominator, result = excluded.result`,
};

/** One statement may not touch a row twice: the last row of an id in the batch wins, as a REPLACE would. */
const lastOfEachId = (rows: readonly OutcomeRow[]): OutcomeRow[] => [...new Map(rows.map((o) => [o.id, o])).values()];

function outcomesParams(part: readonly OutcomeRow[]): unknown[] {
  const [results, offsets, lengths] = packBytes(part.map((o) => o.result));
  return [
    part.map((o) => o.id),
    part.map((o) => text(o.handle)),
    part.map((o) => text(o.function)),
    part.map((o) => text(o.unique)),
    part.map((o) => o.priority),
    part.map((o) => tagsJson(o.tags)),
    part.map((o) => o.submittedAt),
    part.map((o) => o.runAt),
    part.map((o) => o.startedAt),
    part.map((o) => o.finishedAt),
    part.map((o) => o.waitMs),
    part.map((o) => o.state),
    part.map((o) => o.attempts),
    part.map((o) => o.progress?.numerator ?? null),
    part.map((o) => o.progress?.denominator ?? null),
    results,
    offsets,
    lengths,
  ];
}

async function insertOutcomes(tx: Runner, rows: readonly OutcomeRow[]): Promise<void> {
  for (const part of chunks(lastOfEachId(rows), (o) => o.result?.length ?? 0)) await tx.run(INSERT_OUTCOMES, outcomesParams(part));
}

// Evidence that arrived after its attempt ended: merged in JavaScript (rare; the json column is kept
// as written, and jsonb would refuse a \u0000 escape in a worker's stderr).
async function lateEvidence(tx: Runner, items: readonly LateEvidence[]): Promise<void> {
  for (const e of items) {
    const [attempt] = await tx.query<{ evidence: Record<string, unknown> | null }>(
      'SELECT evidence FROM attempts WHERE job_id = $1 AND n = $2 AND ended_at IS NOT NULL FOR UPDATE',
      [e.jobId, e.n],
    );
    if (attempt !== undefined) {
      await tx.run('UPDATE attempts SET evidence = $3::json WHERE job_id = $1 AND n = $2', [
        e.jobId,
        e.n,
        JSON.stringify({ ...attempt.evidence, ...e.evidence }),
      ]);
    }
    const [entry] = await tx.query<{ attempts: { n: number; evidence: Record<string, unknown> | null }[] }>(
      'SELECT attempts FROM quarantine WHERE id = $1 FOR UPDATE',
      [e.jobId],
    );
    if (entry === undefined || !Array.isArray(entry.attempts)) continue;
    const target = entry.attempts.find((a) => a.n === e.n);
    if (target === undefined) continue;
    target.evidence = { ...target.evidence, ...e.evidence };
    await tx.run('UPDATE quarantine SET attempts = $2::json WHERE id = $1', [e.jobId, JSON.stringify(entry.attempts)]);
  }
}

const INSERT_HISTORY = {
  name: 'lz_insert_history',
  text: `INSERT INTO job_history (job_id, at, action, actor, client, peer, life)
         SELECT u.job_id, u.at, u.action, u.actor, u.client, u.peer, u.life::json
         FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY
           AS u(job_id, at, action, actor, client, peer, life, ord)
         ORDER BY u.ord`,
};

/** Appends history rows, in order. Call inside the transaction of the change they record. */
export async function insertHistory(tx: Runner, entries: readonly NewHistoryEntry[]): Promise<void> {
  for (const part of chunks(entries)) {
    await tx.run(INSERT_HISTORY, [
      part.map((e) => e.jobId),
      part.map((e) => e.at),
      part.map((e) => e.action),
      part.map((e) => e.actor),
      part.map((e) => textOrNull(e.client)),
      part.map((e) => textOrNull(e.peer)),
      part.map((e) =>
        e.life === null
          ? null
          : JSON.stringify({ end: e.life.end, detail: e.life.detail, endedAt: e.life.endedAt, attempts: JSON.parse(attemptsJson(e.life.attempts)) as unknown }),
      ),
    ]);
  }
}

// The watermark only rises: two batches committed out of order must not lower it.
const RAISE_WATERMARK = {
  name: 'lz_raise_watermark',
  text: `INSERT INTO meta (key, value) VALUES ('${WATERMARK_KEY}', $1) ON CONFLICT (key) DO UPDATE SET value = greatest(meta.value, excluded.value)`,
};

/**
 * One group commit. Jobs it leaves queued for any node (inserted `queued`, requeued, released) are
 * announced on `channel` (notify.ts), delivered only if the transaction commits.
 */
export async function applyBatch(tx: Runner, b: WriteBatch, holder: Holder, channel: string): Promise<WriteResult> {
  const coalesced = b.insertJobs.length === 0 ? [] : await insertJobs(tx, b.insertJobs, holder);
  const queued: QueuedIn[] = b.insertJobs.filter((j) => j.state === 'queued');
  // Rows of this batch about a job that was not stored (it coalesced) would name a job that is not
  // there: they are left out, and the engine learns of the coalescing from the result.
  const dropped = new Set(coalesced.map((c) => c.id));
  const mine = <T extends { jobId: number }>(rows: readonly T[]): readonly T[] => (dropped.size === 0 ? rows : rows.filter((r) => !dropped.has(r.jobId)));
  const starts = mine(b.startAttempts);
  if (starts.length > 0) await startAttempts(tx, starts);
  const ends = mine(b.endAttempts);
  if (ends.length > 0) await endAttempts(tx, ends, holder, queued);
  if (b.releaseJobs.length > 0) queued.push(...(await tx.query<QueuedIn>(RELEASE, [b.releaseJobs])));
  // The entry carries everything (foreground jobs were never stored), so the job row is not needed;
  // it is removed when present.
  if (b.quarantine.length > 0) {
    await insertQuarantine(tx, b.quarantine);
    await removeJobs(
      tx,
      b.quarantine.map((q) => q.id),
    );
  }
  await removeJobs(tx, b.deleteJobs);
  if (b.outcomes.length > 0) await insertOutcomes(tx, b.outcomes);
  if (b.lateEvidence.length > 0) await lateEvidence(tx, b.lateEvidence);
  // A requeued job's last life, committed with its deletion: no crash can keep one without the other.
  if (b.history.length > 0) await insertHistory(tx, b.history);
  if (b.idWatermark !== null && b.idWatermark !== undefined) await tx.run(RAISE_WATERMARK, [b.idWatermark]);
  await notifyQueued(tx, channel, queued);
  return { coalesced };
}

// ------------------------------------------------------------------ the usual batch in one statement
//
// A group commit of the usual rows (new jobs, attempt starts and ends, a retry back to this node's
// window or to its run-at time included, completed jobs' deletions, outcomes) goes as one statement
// outside BEGIN … COMMIT: each field one data-modifying WITH query, the fence in the main query.
// PostgreSQL runs a lone statement as a transaction of its own, all or nothing, so the commit is one
// round trip where applyBatch() takes one per statement plus BEGIN, the fence and COMMIT: about 1 ms
// instead of 3 on a local server, and a node's deliveries wait on it.
//
// The parts of one statement share its snapshot and do not see one another's changes, so a batch goes
// this way only when no job is in two parts that would have to: a job inserted and its first attempt
// started is fine (the foreign key is checked at the statement's end, when the job is there), unless
// the job has a coalescing key (it may not be inserted); an attempt started and ended, or ended and
// its job deleted, in one batch is not. Requeues to the shared queue (whose NOTIFY names queues the
// statement would have to read), releases, quarantine, late evidence and history take applyBatch().
//
// New jobs that met a stored one of their key are named by the main query. The job they met may have
// been committed by another node after the statement's snapshot was taken (the insert waited for it),
// so the caller looks it up afterwards, in a statement of its own (storedTwins()); one that has gone
// by then is written again.
//
// The fence: the main query divides by the number of lease rows of this node it could lock (FOR KEY
// SHARE, as fence() in nodes.ts). When a peer has deleted the row, that is a division by zero: the
// statement fails, nothing of it commits, and the caller reports the node fenced.

/** SQLSTATE of the failed fence in oneStatement(). */
export const FENCE_FAILED = '22012';

interface Part {
  /** A data-modifying statement whose parameters are numbered from $1. */
  sql: string;
  params: unknown[];
}

export interface OneStatement {
  statement: { name: string; text: string };
  params: unknown[];
}

/** What the statement answers: `missing`, the new jobs with a coalescing key that were not inserted. */
export interface OneStatementRow {
  held: number;
  missing?: number[];
}

/** The batch as one statement, or null when it needs applyBatch()'s transaction (see above). */
export function oneStatement(b: WriteBatch, holder: Holder, channel: string): OneStatement | null {
  if (b.releaseJobs.length + b.quarantine.length + b.lateEvidence.length + b.history.length > 0) return null;
  if (b.endAttempts.some((e) => e.requeue?.state === 'queued')) return null;
  const outcomes = lastOfEachId(b.outcomes);
  for (const [rows, bytes] of [
    [b.insertJobs, b.insertJobs.reduce((s, j) => s + j.payload.length, 0)],
    [b.startAttempts, 0],
    [b.endAttempts, 0],
    [b.deleteJobs, 0],
    [outcomes, outcomes.reduce((s, o) => s + (o.result?.length ?? 0), 0)],
  ] as const) {
    if (rows.length > CHUNK || bytes > CHUNK_BYTES) return null;
  }
  const keyed = new Set(b.insertJobs.filter((j) => j.coalesceKey !== null).map((j) => j.id));
  const started = new Set([...b.insertJobs.map((j) => j.id), ...b.startAttempts.map((a) => a.jobId)]);
  const ended = new Set(b.endAttempts.map((e) => e.jobId));
  if (
    b.startAttempts.some((a) => keyed.has(a.jobId)) ||
    b.endAttempts.some((e) => started.has(e.jobId)) ||
    b.deleteJobs.some((id) => started.has(id) || ended.has(id)) ||
    outcomes.some((o) => keyed.has(o.id))
  ) {
    return null;
  }

  const parts: [string, Part][] = [];
  if (b.insertJobs.length > 0) parts.push(['i', { sql: INSERT_JOBS.text, params: insertJobsParams(b.insertJobs, coalesceKeys(b.insertJobs), holder) }]);
  if (b.startAttempts.length > 0) parts.push(['s', { sql: START_ATTEMPTS.text, params: startAttemptsParams(b.startAttempts) }]);
  if (b.endAttempts.length > 0) parts.push(['e', { sql: END_ATTEMPTS.text, params: endAttemptsParams(b.endAttempts) }]);
  const requeues = b.endAttempts.filter((e) => e.requeue !== undefined);
  if (requeues.length > 0) parts.push(['r', { sql: REQUEUE.text, params: requeueParams(requeues, holder) }]);
  if (b.deleteJobs.length > 0) {
    parts.push(['a', { sql: DELETE_ATTEMPTS_OF, params: [b.deleteJobs] }], ['d', { sql: DELETE_JOB_ROWS, params: [b.deleteJobs] }]);
  }
  if (outcomes.length > 0) parts.push(['o', { sql: INSERT_OUTCOMES.text, params: outcomesParams(outcomes) }]);
  if (b.idWatermark !== null && b.idWatermark !== undefined) parts.push(['w', { sql: RAISE_WATERMARK.text, params: [b.idWatermark] }]);
  if (parts.length === 0) return null;

  const params: unknown[] = [holder.owner, holder.epoch];
  const withs = ['f AS (SELECT 1 FROM nodes WHERE name = $1 AND epoch = $2 FOR KEY SHARE)'];
  for (const [key, part] of parts) {
    const by = params.length;
    withs.push(`${key} AS (${part.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + by}`)})`);
    params.push(...part.params);
  }
  const select = ['1 / (SELECT count(*)::int FROM f) AS held'];
  if (keyed.size > 0) {
    withs.push(`m AS (SELECT unnest($${params.length + 1}::bigint[]) AS id EXCEPT SELECT id FROM i)`);
    params.push([...keyed]);
    // A row not inserted whose id a job stored before this statement has: the id was handed out twice,
    // which must never be. The statement fails (the text is no integer) and nothing of it commits.
    select.push(
      'ARRAY(SELECT id FROM m) AS missing',
      "(SELECT max(('a new job has the id ' || j.id || ' of a stored job; a job id was handed out twice')::int) FROM jobs j JOIN m USING (id)) AS twice",
    );
  }
  const queued = b.insertJobs.filter((j) => j.state === 'queued');
  if (queued.length > 0) {
    select.push(`pg_notify($${params.length + 1}, $${params.length + 2})`);
    params.push(channel, payloadOf(queued));
  }
  const shape = parts.map(([key]) => key).join('') + (keyed.size > 0 ? 'k' : '') + (queued.length > 0 ? 'n' : '');
  return {
    statement: { name: `lz_write_${shape}`, text: `WITH ${withs.join(',\n')}\nSELECT ${select.join(', ')}` },
    params,
  };
}
