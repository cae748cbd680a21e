// outcomesImpact(): per tag, how the jobs that carried it fared, in one grouped scan of the window.

import type { Database } from 'better-sqlite3';
import type { ImpactQuery, ImpactRow } from '../types.js';

interface ImpactRecord {
  tag: string;
  jobs: number;
  waited: number;
  failed: number;
  expired: number;
  quarantined: number;
  worst: number;
}

export function prepareOutcomesImpact(db: Database): (query: ImpactQuery) => ImpactRow[] {
  // The key filter is a prefix match on `key:`; substr() rather than LIKE so `_` and `%` in a key are
  // taken literally.
  const select = db.prepare<[{ since: number; waited: number; prefix: string | null }], ImpactRecord>(
    `SELECT t.value AS tag, count(*) AS jobs, sum(o.wait_ms > @waited) AS waited,
            sum(o.state = 'failed') AS failed, sum(o.state = 'expired') AS expired,
            sum(o.state = 'quarantined') AS quarantined, max(o.wait_ms) AS worst
       FROM outcomes o, json_each(o.tags) t
      WHERE o.finished_at >= @since AND o.tags IS NOT NULL
        AND (@prefix IS NULL OR substr(t.value, 1, length(@prefix)) = @prefix)
      GROUP BY t.value`,
  );
  return (q) => {
    const prefix = q.key === undefined ? null : `${q.key}:`;
    return select.all({ since: q.since, waited: q.waitedLongerThan, prefix }).map((r) => ({
      tag: r.tag,
      jobs: r.jobs,
      waitedTooLong: r.waited,
      failed: r.failed,
      expired: r.expired,
      quarantined: r.quarantined,
      worstWaitMs: r.worst,
    }));
  };
}
