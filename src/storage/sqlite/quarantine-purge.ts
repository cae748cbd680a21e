// quarantinePurge(): deletes matching entries for good; the only way out of quarantine besides requeue.
// With an audit stamp, each entry's life (reason and attempts) is kept in job_history first.

import type { Database } from 'better-sqlite3';
import type { AuditStamp, QuarantineFilter } from '../types.js';
import { prepareRecordFromQuarantine } from './history.js';
import { filterSql, type StatementCache } from './quarantine-filter.js';

export function prepareQuarantinePurge(db: Database, cache: StatementCache): (filter: QuarantineFilter, by?: AuditStamp) => number {
  const record = prepareRecordFromQuarantine(cache);
  const purge = db.transaction((filter: QuarantineFilter, by: AuditStamp | undefined): number => {
    if (by !== undefined) record(filter, 'purged', by, true);
    const { where, params } = filterSql(filter);
    return cache.get(`DELETE FROM quarantine ${where}`).run(...params).changes;
  });
  return (filter, by) => purge.immediate(filter, by);
}
