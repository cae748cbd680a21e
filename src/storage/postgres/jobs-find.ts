// jobsFind() and jobsImpact() on PostgreSQL: stored jobs by function, unique or tag for the jobs API, and
// per tag the waits of the stored jobs no node holds, for the impact report. Same answers as the SQLite
// backend (storage/sqlite/jobs-find.ts, jobs-impact.ts); tags are a text[] here, matched with `= ANY`.

import type { FoundJob, JobFilter, JobImpactQuery, JobImpactRow } from '../types.js';
import type { Db } from './connection.js';
import { toJobSummary, type JobSummaryRecord } from './rows.js';

/** The most rows one call reads, as for every listing of the store. */
const MAX_ROWS = 10_000;

interface FoundRecord extends JobSummaryRecord {
  deadline: number | null;
  started_at: number | null;
}

const COLUMNS = `j.id, j.handle, j.function, j.unique_key, j.priority, j.state, j.tags, j.submitted_at, j.queued_at, j.run_at,
  (SELECT count(*) FROM attempts a WHERE a.job_id = j.id)::int AS attempts, j.deadline,
  (SELECT min(a.started_at) FROM attempts a WHERE a.job_id = j.id) AS started_at`;

export async function jobsFind(db: Db, filter: JobFilter): Promise<FoundJob[]> {
  const limit = Math.max(0, Math.min(Math.floor(filter.limit), MAX_ROWS));
  if (limit === 0) return [];
  const parts: string[] = [];
  const params: unknown[] = [];
  const param = (v: unknown): string => {
    params.push(v);
    return `$${params.length}`;
  };
  let order = 'j.id';
  if (filter.function !== undefined) {
    parts.push(`j.function = ${param(filter.function)}`);
    order = 'j.priority, j.state, j.seq';
  }
  if (filter.unique !== undefined) {
    // An empty unique means "none": it finds nothing, as in the outcomes.
    if (filter.unique === '') return [];
    parts.push(`j.unique_key = ${param(filter.unique)}`);
  }
  if (filter.tag !== undefined) parts.push(`${param(filter.tag)} = ANY (j.tags)`);
  const where = parts.length === 0 ? '' : `WHERE ${parts.join(' AND ')}`;
  const rows = await db.query<FoundRecord>('jobsFind', `SELECT ${COLUMNS} FROM jobs j ${where} ORDER BY ${order} LIMIT ${param(limit)}`, params);
  return rows.map((r) => ({
    ...toJobSummary(r),
    deadline: r.deadline === null ? null : Number(r.deadline),
    startedAt: r.started_at === null ? null : Number(r.started_at),
  }));
}

export async function jobsImpact(db: Db, q: JobImpactQuery): Promise<JobImpactRow[]> {
  const prefix = q.key === undefined ? null : `${q.key}:`;
  const rows = await db.query<{ tag: string; jobs: number; waited: number; worst: number }>(
    'jobsImpact',
    `SELECT t.tag, count(*)::int AS jobs, count(*) FILTER (WHERE w.wait > $2)::int AS waited, max(w.wait)::float8 AS worst
       FROM (SELECT j.tags,
                    greatest(0, coalesce((SELECT min(a.started_at) FROM attempts a WHERE a.job_id = j.id), $1)
                                - greatest(j.submitted_at, coalesce(j.run_at, 0))) AS wait,
                    j.state,
                    EXISTS (SELECT 1 FROM attempts a WHERE a.job_id = j.id) AS ran
               FROM jobs j
              WHERE j.state IN ('queued', 'scheduled') AND j.tags IS NOT NULL) w,
            unnest(w.tags) AS t(tag)
      WHERE (w.state = 'queued' OR w.ran)
        AND ($3::text IS NULL OR left(t.tag, length($3::text)) = $3::text)
      GROUP BY t.tag`,
    [q.now, q.waitedLongerThan, prefix],
  );
  return rows.map((r) => ({ tag: r.tag, jobs: Number(r.jobs), waitedTooLong: Number(r.waited), worstWaitMs: Number(r.worst) }));
}
