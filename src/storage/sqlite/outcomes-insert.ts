// Outcome rows, written by write() in the same transaction that deletes or quarantines the job.

import type { Database } from 'better-sqlite3';
import type { OutcomeRow } from '../types.js';
import { prepareBulkInsert } from './bulk.js';
import { tagsJson } from './rows.js';

export function prepareOutcomesInsert(db: Database): (rows: readonly OutcomeRow[]) => void {
  // REPLACE: a job requeued from quarantine keeps its id, and its latest ending is the one that counts.
  return prepareBulkInsert<OutcomeRow>(
    db,
    `INSERT OR REPLACE INTO outcomes (id, handle, function, unique_key, priority, tags, submitted_at, run_at, started_at,
       finished_at, wait_ms, state, attempts, numerator, denominator, result)`,
    16,
    (o) => [
      o.id,
      o.handle,
      o.function,
      o.unique,
      o.priority,
      tagsJson(o.tags),
      o.submittedAt,
      o.runAt,
      o.startedAt,
      o.finishedAt,
      o.waitMs,
      o.state,
      o.attempts,
      o.progress?.numerator ?? null,
      o.progress?.denominator ?? null,
      o.result,
    ],
  );
}
