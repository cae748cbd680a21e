// write(): one group commit, one transaction, fields applied in the order WriteBatch declares them.
// This is the hot path: statements are prepared once; new jobs, attempt starts and deletions go through
// multi-row statements (bulk.ts), attempt ends (rare: completions do not end attempts, they delete the
// job) row by row, which for an in-process database costs no round trips.
//
// The attempt that is running stays a row of attempts rather than columns of the job row: starting it
// on the job row would rewrite the whole row, payload included, and write every page the payload
// spans to the WAL again (measured: 64 KiB payloads start ~200 times slower than with this INSERT, and
// even at 1 KiB a commit of 500 starts takes five times as long); an attempts row is ~40 bytes.

import type { Database } from 'better-sqlite3';
import type { AttemptStart, LateEvidence, QuarantineRow, WriteBatch, WriteResult } from '../types.js';
import { marks, prepareBulkIds, prepareBulkInsert } from './bulk.js';
import { prepareHistoryInsert } from './history.js';
import { prepareJobsInsert } from './jobs-insert.js';
import { prepareOutcomesInsert } from './outcomes-insert.js';
import { attemptsJson, evidenceJson, tagsJson } from './rows.js';
import type { SeqCounter } from './seq.js';

export const WATERMARK_KEY = 'id_watermark';

export function prepareWrite(db: Database, seq: SeqCounter): (batch: WriteBatch) => WriteResult {
  const insertJobs = prepareJobsInsert(db, seq);
  const startAttempts = prepareBulkInsert<AttemptStart>(db, 'INSERT INTO attempts (job_id, n, worker, started_at)', 4, (a) => [
    a.jobId,
    a.n,
    a.worker,
    a.startedAt,
  ]);
  const endAttempt = db.prepare(
    'UPDATE attempts SET ended_at = ?, outcome = ?, error = ?, evidence = ?, worker = coalesce(?, worker) WHERE job_id = ? AND n = ?',
  );
  // Back in line: a new place at the end (or waiting for its run-at), unless it stays in memory (held).
  const requeue = db.prepare('UPDATE jobs SET state = ?, seq = ?, run_at = ?, queued_at = ? WHERE id = ?');
  const release = prepareBulkIds(db, (count) => `UPDATE jobs SET state = 'queued' WHERE state = 'held' AND id IN (${marks(count)})`);
  const addEvidence = db.prepare("UPDATE attempts SET evidence = json_patch(coalesce(evidence, '{}'), ?) WHERE job_id = ? AND n = ? AND ended_at IS NOT NULL");
  const quarantinedAttempts = db.prepare<[number], { attempts: string }>('SELECT attempts FROM quarantine WHERE id = ?');
  const setQuarantinedAttempts = db.prepare('UPDATE quarantine SET attempts = ? WHERE id = ?');
  const lateEvidence = (items: readonly LateEvidence[]): void => {
    for (const e of items) {
      addEvidence.run(JSON.stringify(e.evidence), e.jobId, e.n);
      const row = quarantinedAttempts.get(e.jobId);
      if (row === undefined) continue;
      const attempts = JSON.parse(row.attempts) as { n: number; evidence: Record<string, unknown> | null }[];
      const attempt = attempts.find((a) => a.n === e.n);
      if (attempt === undefined) continue;
      attempt.evidence = { ...attempt.evidence, ...e.evidence };
      setQuarantinedAttempts.run(JSON.stringify(attempts), e.jobId);
    }
  };
  const insertQuarantine = prepareBulkInsert<QuarantineRow>(
    db,
    `INSERT INTO quarantine (id, handle, function, unique_key, payload, priority, submitted_at, deadline,
       reason, detail, quarantined_at, attempt_count, attempts, tags)`,
    14,
    (q) => [
      q.id,
      q.handle,
      q.function,
      q.unique,
      q.payload,
      q.priority,
      q.submittedAt,
      q.deadline ?? null,
      q.reason,
      q.detail ?? null,
      q.quarantinedAt,
      q.attempts.length,
      attemptsJson(q.attempts),
      tagsJson(q.tags),
    ],
  );
  // Ids bound as an IN list of up to CHUNK parameters, one statement per table for a usual commit:
  // about three times the speed of a DELETE per id, and ~10% less than binding them as one JSON array
  // read back through json_each(), whose parsing and temporary table cost more than the list.
  // Attempts go first, so the foreign key never sees an orphan.
  const deleteAttempts = prepareBulkIds(db, (count) => `DELETE FROM attempts WHERE job_id IN (${marks(count)})`);
  const deleteJobs = prepareBulkIds(db, (count) => `DELETE FROM jobs WHERE id IN (${marks(count)})`);
  const removeJobs = (ids: readonly number[]): void => {
    if (ids.length === 0) return;
    deleteAttempts(ids);
    deleteJobs(ids);
  };
  // The watermark only rises: two batches committed out of order must not hand ids out twice.
  // better-sqlite3 binds every JS number as a REAL; meta.value is ANY, so the cast keeps it an integer.
  const insertOutcomes = prepareOutcomesInsert(db);
  const insertHistory = prepareHistoryInsert(db);
  const raiseWatermark = db.prepare(
    `INSERT INTO meta (key, value) VALUES ('${WATERMARK_KEY}', CAST(? AS INTEGER))
     ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`,
  );

  const apply = db.transaction((b: WriteBatch): WriteResult => {
    const coalesced = insertJobs(b.insertJobs);
    startAttempts(b.startAttempts);
    // Ending an attempt (or moving the run time of) a row that is not stored changes nothing rather
    // than failing the whole group commit, whose other callers did nothing wrong.
    for (const e of b.endAttempts) {
      endAttempt.run(e.endedAt, e.outcome, e.error, evidenceJson(e.evidence), e.worker ?? null, e.jobId, e.n);
      const r = e.requeue;
      if (r !== undefined) requeue.run(r.state, seq.take(), r.runAt, r.queuedAt, e.jobId);
    }
    release(b.releaseJobs);
    // The entry carries everything (foreground jobs were never stored), so the job row is not needed;
    // it is removed when present.
    insertQuarantine(b.quarantine);
    if (b.quarantine.length > 0) removeJobs(b.quarantine.map((q) => q.id));
    removeJobs(b.deleteJobs);
    insertOutcomes(b.outcomes);
    lateEvidence(b.lateEvidence);
    // A requeued job's last life, committed with its deletion: no crash can keep one without the other.
    insertHistory(b.history);
    if (b.idWatermark !== null && b.idWatermark !== undefined) raiseWatermark.run(b.idWatermark);
    seq.save();
    return { coalesced };
  });

  // IMMEDIATE: take the write lock at BEGIN, where busy_timeout applies (see migrate.ts).
  return (batch) => apply.immediate(batch);
}
