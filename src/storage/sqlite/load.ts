// jobsLoad(): every stored job with its attempts, as core rebuilds its memory index after a restart.

import type { Database } from 'better-sqlite3';
import type { StoredJob } from '../types.js';
import { toAttemptRow, toJobRow, type AttemptRecord, type JobRecord } from './rows.js';

export function prepareJobsLoad(db: Database): () => StoredJob[] {
  const jobs = db.prepare<[], JobRecord>(
    'SELECT id, handle, function, unique_key, payload, priority, submitted_at, run_at, deadline, tags FROM jobs ORDER BY id',
  );
  const attempts = db.prepare<[], AttemptRecord>('SELECT job_id, n, worker, started_at, ended_at, outcome, error, evidence FROM attempts ORDER BY job_id, n');

  // Two ordered scans merged in one pass (no per-job query), inside one read transaction so both see
  // the same snapshot.
  return db.transaction(() => {
    const out: StoredJob[] = jobs.all().map((r) => ({ ...toJobRow(r), attempts: [] }));
    let i = 0;
    let job = out[i];
    for (const a of attempts.iterate()) {
      while (job !== undefined && job.id < a.job_id) job = out[++i];
      // Without a job row the foreign key would have refused the attempt; skip rather than fail a load.
      if (job !== undefined && job.id === a.job_id) job.attempts.push(toAttemptRow(a));
    }
    return out;
  });
}
