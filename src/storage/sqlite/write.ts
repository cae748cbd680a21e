// write(): one group commit, one transaction, fields applied in the order WriteBatch declares them.
// This is the hot path: statements are prepared once; the rows that arrive by thousands (new jobs,
// attempt starts) go in through multi-row INSERTs (bulk-insert.ts), the rest row by row, which for an
// in-process database costs no round trips.

import type { Database } from 'better-sqlite3';
import type { AttemptStart, QuarantineRow, WriteBatch } from '../types.js';
import { prepareBulkInsert } from './bulk-insert.js';
import { prepareJobsInsert } from './jobs-insert.js';
import { attemptsJson, evidenceJson } from './rows.js';

export const WATERMARK_KEY = 'id_watermark';

export function prepareWrite(db: Database): (batch: WriteBatch) => void {
  const insertJobs = prepareJobsInsert(db);
  const startAttempts = prepareBulkInsert<AttemptStart>(
    db,
    'INSERT INTO attempts (job_id, n, worker, started_at)',
    4,
    (a) => [a.jobId, a.n, a.worker, a.startedAt],
  );
  const endAttempt = db.prepare(
    'UPDATE attempts SET ended_at = ?, outcome = ?, error = ?, evidence = ? WHERE job_id = ? AND n = ?',
  );
  const setRunAt = db.prepare('UPDATE jobs SET run_at = ? WHERE id = ?');
  const insertQuarantine = prepareBulkInsert<QuarantineRow>(
    db,
    `INSERT INTO quarantine (id, handle, function, unique_key, payload, priority, submitted_at, deadline,
       reason, detail, quarantined_at, attempt_count, attempts)`,
    13,
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
    ],
  );
  // Ids bound as one JSON array, one statement per table whatever the count (STYLE §1.1): about three
  // times the speed of a DELETE per id. Attempts go first, so the foreign key never sees an orphan.
  const deleteAttempts = db.prepare<[string]>('DELETE FROM attempts WHERE job_id IN (SELECT value FROM json_each(?))');
  const deleteJobs = db.prepare<[string]>('DELETE FROM jobs WHERE id IN (SELECT value FROM json_each(?))');
  const removeJobs = (ids: readonly number[]): void => {
    if (ids.length === 0) return;
    const json = JSON.stringify(ids);
    deleteAttempts.run(json);
    deleteJobs.run(json);
  };
  // The watermark only rises: two batches committed out of order must not hand ids out twice.
  // better-sqlite3 binds every JS number as a REAL; meta.value is ANY, so the cast keeps it an integer.
  const raiseWatermark = db.prepare(
    `INSERT INTO meta (key, value) VALUES ('${WATERMARK_KEY}', CAST(? AS INTEGER))
     ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`,
  );

  const apply = db.transaction((b: WriteBatch) => {
    insertJobs(b.insertJobs);
    startAttempts(b.startAttempts);
    // Ending an attempt (or moving the run time of) a row that is not stored changes nothing rather
    // than failing the whole group commit, whose other callers did nothing wrong.
    for (const e of b.endAttempts) {
      endAttempt.run(e.endedAt, e.outcome, e.error, evidenceJson(e.evidence), e.jobId, e.n);
      // retryAt given (even null, "runnable now") means the job goes back to its queue.
      if (e.retryAt !== undefined) setRunAt.run(e.retryAt, e.jobId);
    }
    // The entry carries everything (foreground jobs were never stored), so the job row is not needed;
    // it is removed when present.
    insertQuarantine(b.quarantine);
    removeJobs(b.quarantine.map((q) => q.id));
    removeJobs(b.deleteJobs);
    if (b.idWatermark !== null && b.idWatermark !== undefined) raiseWatermark.run(b.idWatermark);
  });

  // IMMEDIATE: take the write lock at BEGIN, where busy_timeout applies (see migrate.ts).
  return (batch) => apply.immediate(batch);
}
