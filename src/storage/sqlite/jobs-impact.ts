// jobsImpact(): per tag, the stored jobs no node holds (queued or scheduled) as they wait now, for the
// impact report during an outage: thousands queued with no worker are in the store, not in memory.
// Waits are counted as the engine counts them for the jobs it holds (core/results.ts dueWait): from due
// (the later of submission and run-at) to the first start for a job that ran, else to `now` for a queued
// one; a scheduled job that never ran has not waited yet. One grouped scan of the tagged stored jobs,
// in the store's thread.

import type { Database } from 'better-sqlite3';
import type { JobImpactQuery, JobImpactRow } from '../types.js';

export function prepareJobsImpact(db: Database): (query: JobImpactQuery) => JobImpactRow[] {
  // The key filter is a prefix match on `key:`; substr() rather than LIKE so `_` and `%` in a key are
  // taken literally.
  const select = db.prepare<[{ now: number; waited: number; prefix: string | null }], { tag: string; jobs: number; waited: number; worst: number }>(
    `SELECT t.value AS tag, count(*) AS jobs, sum(w.wait > @waited) AS waited, max(w.wait) AS worst
       FROM (SELECT j.tags AS tags,
                    max(0, coalesce((SELECT min(a.started_at) FROM attempts a WHERE a.job_id = j.id), @now)
                           - max(j.submitted_at, coalesce(j.run_at, 0))) AS wait,
                    j.state AS state,
                    EXISTS (SELECT 1 FROM attempts a WHERE a.job_id = j.id) AS ran
               FROM jobs j
              WHERE j.state IN ('queued', 'scheduled') AND j.tags IS NOT NULL) w,
            json_each(w.tags) t
      WHERE (w.state = 'queued' OR w.ran)
        AND (@prefix IS NULL OR substr(t.value, 1, length(@prefix)) = @prefix)
      GROUP BY t.value`,
  );
  return (q) => {
    const prefix = q.key === undefined ? null : `${q.key}:`;
    return select
      .all({ now: q.now, waited: q.waitedLongerThan, prefix })
      .map((r) => ({ tag: r.tag, jobs: r.jobs, waitedTooLong: r.waited, worstWaitMs: r.worst }));
  };
}
