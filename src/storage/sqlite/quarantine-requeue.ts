// quarantineRequeue(): matching entries leave quarantine and become queued jobs again, at the back of
// their queues, with the same id and handle, no attempts (a fresh budget), no deadline and runAt = now,
// all in one transaction. A job whose coalescing key a stored job has taken meanwhile comes back
// without one (the stored job keeps coalescing). With an audit stamp, the life that ended (reason and
// attempts) is kept in job_history in that transaction.

import type { Database } from 'better-sqlite3';
import type { AuditStamp, JobRow, QuarantineFilter } from '../types.js';
import { prepareRecordFromQuarantine } from './history.js';
import { filterSql, type StatementCache } from './quarantine-filter.js';
import { prepareJobsInsert } from './jobs-insert.js';
import { coalescingKey } from '../coalesce-key.js';
import { tagsOf, priorityOf, type QuarantineRecord } from './rows.js';
import type { SeqCounter } from './seq.js';

export function prepareQuarantineRequeue(
  db: Database,
  cache: StatementCache,
  seq: SeqCounter,
): (filter: QuarantineFilter, now: number, by?: AuditStamp) => JobRow[] {
  const record = prepareRecordFromQuarantine(cache);
  const insertJobs = prepareJobsInsert(db, seq);
  const keyTaken = db.prepare<[string, string], number>('SELECT 1 FROM jobs WHERE function = ? AND coalesce_key = ?').pluck();
  const remove = db.prepare<[string]>('DELETE FROM quarantine WHERE id IN (SELECT value FROM json_each(?))');

  const requeue = db.transaction((filter: QuarantineFilter, now: number, by: AuditStamp | undefined): JobRow[] => {
    if (by !== undefined) record(filter, 'requeued', by, true);
    const { where, params } = filterSql(filter);
    const select = cache.get<Pick<QuarantineRecord, 'id' | 'handle' | 'function' | 'unique_key' | 'payload' | 'priority' | 'submitted_at' | 'tags'>>(
      `SELECT id, handle, function, unique_key, payload, priority, submitted_at, tags FROM quarantine ${where} ORDER BY id`,
    );
    const taken = new Set<string>();
    const jobs = select.all(...params).map((r): JobRow => {
      let key = coalescingKey(r.unique_key, r.payload);
      if (key !== null) {
        const k = `${r.function}\0${key}`;
        if (taken.has(k) || keyTaken.get(r.function, key) !== undefined) key = null;
        else taken.add(k);
      }
      return {
        id: r.id,
        handle: r.handle,
        function: r.function,
        unique: r.unique_key,
        payload: r.payload,
        priority: priorityOf(r.priority, 'quarantine', r.id),
        submittedAt: r.submitted_at,
        runAt: now,
        deadline: null,
        tags: tagsOf(r.tags, 'quarantine', r.id),
        state: 'queued',
        coalesceKey: key,
        queuedAt: now,
      };
    });
    // A job row with one of these ids would mean an id was handed out twice; the primary key refuses
    // it and the whole requeue rolls back.
    insertJobs(jobs);
    seq.save();
    remove.run(JSON.stringify(jobs.map((j) => j.id)));
    return jobs;
  });

  return (filter, now, by) => requeue.immediate(filter, now, by);
}
