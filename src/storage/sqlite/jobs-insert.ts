// Writing whole job rows, shared by write() (new submissions) and quarantineRequeue() (jobs coming back).
// Each row gets the next place in line. A row whose coalescing key a stored job of its function has is
// skipped (ON CONFLICT DO NOTHING) and reported with the job it met, so the submitter is answered with
// that job's handle.

import type { Database } from 'better-sqlite3';
import { ErrorCode, LazaretError } from '../../errors.js';
import type { Coalesced, JobRow } from '../types.js';
import { prepareBulkInsert } from './bulk.js';
import { tagsJson } from './rows.js';
import type { SeqCounter } from './seq.js';

export function prepareJobsInsert(db: Database, seq: SeqCounter): (jobs: readonly JobRow[]) => Coalesced[] {
  const insert = prepareBulkInsert<JobRow>(
    db,
    'INSERT INTO jobs (id, handle, function, unique_key, payload, priority, submitted_at, run_at, deadline, tags, state, seq, coalesce_key, queued_at)',
    14,
    (j) => [
      j.id,
      j.handle,
      j.function,
      j.unique,
      j.payload,
      j.priority,
      j.submittedAt,
      j.runAt ?? null,
      j.deadline ?? null,
      tagsJson(j.tags),
      j.state,
      seq.take(),
      j.coalesceKey,
      j.queuedAt,
    ],
    // Only the coalescing index is a conflict to skip; a taken id still fails the transaction.
    ' ON CONFLICT (function, coalesce_key) WHERE coalesce_key IS NOT NULL DO NOTHING',
  );
  const byKey = db.prepare<[string, string], { id: number; handle: string }>('SELECT id, handle FROM jobs WHERE function = ? AND coalesce_key = ?');

  return (jobs) => {
    if (jobs.length === 0) return [];
    const inserted = insert(jobs);
    if (inserted === jobs.length) return [];
    // Rare: some rows met a stored job of the same key. Find which, and the jobs they met.
    const coalesced: Coalesced[] = [];
    for (const j of jobs) {
      if (j.coalesceKey === null) continue;
      const met = byKey.get(j.function, j.coalesceKey);
      if (met !== undefined && met.id !== j.id) coalesced.push({ id: j.id, existingId: met.id, existingHandle: met.handle });
    }
    if (coalesced.length !== jobs.length - inserted) {
      // A skipped row met a job of its own id: the id was handed out twice, which must never be.
      throw new LazaretError(ErrorCode.STORE_FAILED, 'A new job has the id of a stored job; a job id was handed out twice');
    }
    return coalesced;
  };
}
