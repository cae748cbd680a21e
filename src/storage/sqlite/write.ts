// write(): one group commit, one transaction, fields applied in the order WriteBatch declares them.
// This is the hot path: statements are prepared once and run row by row, which for SQLite (no network
// round trip) is as fast as any multi-row form and keeps one plan per statement.

import type { Database } from 'better-sqlite3';
import type { WriteBatch } from '../types.js';
import { attemptsJson, evidenceJson, INSERT_JOB_SQL } from './rows.js';

export const WATERMARK_KEY = 'id_watermark';

export function prepareWrite(db: Database): (batch: WriteBatch) => void {
  const insertJob = db.prepare(INSERT_JOB_SQL);
  const startAttempt = db.prepare('INSERT INTO attempts (job_id, n, worker, started_at) VALUES (?, ?, ?, ?)');
  const endAttempt = db.prepare(
    'UPDATE attempts SET ended_at = ?, outcome = ?, error = ?, evidence = ? WHERE job_id = ? AND n = ?',
  );
  const setRunAt = db.prepare('UPDATE jobs SET run_at = ? WHERE id = ?');
  const insertQuarantine = db.prepare(
    `INSERT INTO quarantine (id, handle, function, unique_key, payload, priority, submitted_at, deadline,
       reason, detail, quarantined_at, attempt_count, attempts)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const deleteAttempts = db.prepare('DELETE FROM attempts WHERE job_id = ?');
  const deleteJob = db.prepare('DELETE FROM jobs WHERE id = ?');
  // The watermark only rises: two batches committed out of order must not hand ids out twice.
  // better-sqlite3 binds every JS number as a REAL; meta.value is ANY, so the cast keeps it an integer.
  const raiseWatermark = db.prepare(
    `INSERT INTO meta (key, value) VALUES ('${WATERMARK_KEY}', CAST(? AS INTEGER))
     ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`,
  );

  const apply = db.transaction((b: WriteBatch) => {
    for (const j of b.insertJobs) {
      insertJob.run(j.id, j.handle, j.function, j.unique, j.payload, j.priority, j.submittedAt, j.runAt ?? null, j.deadline ?? null);
    }
    for (const a of b.startAttempts) startAttempt.run(a.jobId, a.n, a.worker, a.startedAt);
    // Ending an attempt (or moving the run time of) a row that is not stored changes nothing rather
    // than failing the whole group commit, whose other callers did nothing wrong.
    for (const e of b.endAttempts) {
      endAttempt.run(e.endedAt, e.outcome, e.error, evidenceJson(e.evidence), e.jobId, e.n);
      // retryAt given (even null, "runnable now") means the job goes back to its queue.
      if (e.retryAt !== undefined) setRunAt.run(e.retryAt, e.jobId);
    }
    // The entry carries everything (foreground jobs were never stored), so the job row is not needed;
    // it is removed when present.
    for (const q of b.quarantine) {
      insertQuarantine.run(
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
      );
      deleteAttempts.run(q.id);
      deleteJob.run(q.id);
    }
    for (const id of b.deleteJobs) {
      deleteAttempts.run(id);
      deleteJob.run(id);
    }
    if (b.idWatermark !== null && b.idWatermark !== undefined) raiseWatermark.run(b.idWatermark);
  });

  // IMMEDIATE: take the write lock at BEGIN, where busy_timeout applies (see migrate.ts).
  return (batch) => apply.immediate(batch);
}
