// jobsFind(): stored jobs by function, unique or tag, for the jobs API (GET /api/jobs?tag=...). Each
// combination of fields is its own SQL text, prepared once (StatementCache), so each uses the index that
// fits it:
// - a function (alone or with a tag) walks jobs_queue, already in line order: no sort, and LIMIT stops
//   the walk;
// - a function and a unique look the key up in jobs_coalesce: at most one row. A job whose key another
//   stored job had when it was requeued from quarantine is stored without one and is not found this way
//   (the job that holds the key is, and the outcomes and memory answer for the rest);
// - a unique or a tag alone walk the table by id and stop at LIMIT; the tag test looks at the JSON text
//   first (LIKE) and parses the array (json_each) only for the rows that may match.

import type { FoundJob, JobFilter } from '../types.js';
import { MAX_ROWS } from './queue.js';
import type { StatementCache } from './quarantine-filter.js';
import { JOB_SUMMARY_COLUMNS, toJobSummary, type JobSummaryRecord, type SqlValue } from './rows.js';

interface FoundRecord extends JobSummaryRecord {
  deadline: number | null;
  started_at: number | null;
}

const COLUMNS = `${JOB_SUMMARY_COLUMNS}, deadline, (SELECT min(started_at) FROM attempts WHERE job_id = jobs.id) AS started_at`;

/** `%"tag"%` as LIKE sees it: the tag as JSON writes it in the array, with LIKE's own wildcards escaped by `!`. */
function tagPattern(tag: string): string {
  return `%${JSON.stringify(tag).replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

export function prepareJobsFind(cache: StatementCache): (filter: JobFilter) => FoundJob[] {
  return (filter) => {
    const limit = Math.max(0, Math.min(Math.floor(filter.limit), MAX_ROWS));
    if (limit === 0) return [];
    const parts: string[] = [];
    const params: SqlValue[] = [];
    let order = 'id';
    if (filter.function !== undefined) {
      parts.push('function = ?');
      params.push(filter.function);
      order = 'priority, state, seq';
    }
    if (filter.unique !== undefined) {
      // An empty unique means "none": it finds nothing, as in the outcomes.
      if (filter.unique === '') return [];
      if (filter.function !== undefined && filter.unique !== '-') {
        parts.push('coalesce_key = ?', 'unique_key = ?');
        params.push(filter.unique, filter.unique);
      } else {
        parts.push('unique_key = ?');
        params.push(filter.unique);
      }
    }
    if (filter.tag !== undefined) {
      parts.push("tags IS NOT NULL AND tags LIKE ? ESCAPE '!' AND EXISTS (SELECT 1 FROM json_each(jobs.tags) WHERE value = ?)");
      params.push(tagPattern(filter.tag), filter.tag);
    }
    params.push(limit);
    const where = parts.length === 0 ? '' : `WHERE ${parts.join(' AND ')}`;
    const statement = cache.get<FoundRecord>(`SELECT ${COLUMNS} FROM jobs ${where} ORDER BY ${order} LIMIT ?`);
    return statement.all(...params).map((r) => ({ ...toJobSummary(r), deadline: r.deadline, startedAt: r.started_at }));
  };
}
