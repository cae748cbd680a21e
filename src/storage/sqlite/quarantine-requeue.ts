// quarantineRequeue(): matching entries leave quarantine and become queued jobs again, with the same id
// and handle, no attempts (a fresh budget), no deadline and runAt = now, all in one transaction.

import type { Database } from 'better-sqlite3';
import type { JobRow, QuarantineFilter } from '../types.js';
import { filterSql, type StatementCache } from './quarantine-filter.js';
import { INSERT_JOB_SQL, toJobRow, type JobRecord } from './rows.js';

export function prepareQuarantineRequeue(
  db: Database,
  cache: StatementCache,
): (filter: QuarantineFilter, now: number) => JobRow[] {
  const insertJob = db.prepare(INSERT_JOB_SQL);
  const remove = db.prepare<[number]>('DELETE FROM quarantine WHERE id = ?');

  const requeue = db.transaction((filter: QuarantineFilter, now: number): JobRow[] => {
    const { where, params } = filterSql(filter);
    const select = cache.get<JobRecord>(
      `SELECT id, handle, function, unique_key, payload, priority, submitted_at, NULL AS run_at, NULL AS deadline
       FROM quarantine ${where} ORDER BY id`,
    );
    const jobs: JobRow[] = [];
    for (const record of select.all(...params)) {
      const job: JobRow = { ...toJobRow(record), runAt: now, deadline: null };
      // A job row with this id would mean the id was handed out twice; the primary key refuses it
      // and the whole requeue rolls back.
      insertJob.run(job.id, job.handle, job.function, job.unique, job.payload, job.priority, job.submittedAt, job.runAt, job.deadline);
      remove.run(job.id);
      jobs.push(job);
    }
    return jobs;
  });

  return (filter, now) => requeue.immediate(filter, now);
}
