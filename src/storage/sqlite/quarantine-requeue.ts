// quarantineRequeue(): matching entries leave quarantine and become queued jobs again, with the same id
// and handle, no attempts (a fresh budget), no deadline and runAt = now, all in one transaction. With an
// audit stamp, the life that ended (reason and attempts) is kept in job_history in that transaction.

import type { Database } from 'better-sqlite3';
import type { AuditStamp, JobRow, QuarantineFilter } from '../types.js';
import { prepareRecordFromQuarantine } from './history.js';
import { filterSql, type StatementCache } from './quarantine-filter.js';
import { prepareJobsInsert } from './jobs-insert.js';
import { toJobRow, type JobRecord } from './rows.js';

export function prepareQuarantineRequeue(db: Database, cache: StatementCache): (filter: QuarantineFilter, now: number, by?: AuditStamp) => JobRow[] {
  const record = prepareRecordFromQuarantine(cache);
  const insertJobs = prepareJobsInsert(db);
  const remove = db.prepare<[string]>('DELETE FROM quarantine WHERE id IN (SELECT value FROM json_each(?))');

  const requeue = db.transaction((filter: QuarantineFilter, now: number, by: AuditStamp | undefined): JobRow[] => {
    if (by !== undefined) record(filter, 'requeued', by, true);
    const { where, params } = filterSql(filter);
    const select = cache.get<JobRecord>(
      `SELECT id, handle, function, unique_key, payload, priority, submitted_at, NULL AS run_at, NULL AS deadline, tags
       FROM quarantine ${where} ORDER BY id`,
    );
    const jobs = select.all(...params).map((record): JobRow => ({ ...toJobRow(record), runAt: now, deadline: null }));
    // A job row with one of these ids would mean an id was handed out twice; the primary key refuses
    // it and the whole requeue rolls back.
    insertJobs(jobs);
    remove.run(JSON.stringify(jobs.map((j) => j.id)));
    return jobs;
  });

  return (filter, now, by) => requeue.immediate(filter, now, by);
}
