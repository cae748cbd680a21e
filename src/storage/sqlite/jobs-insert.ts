// Writing whole job rows, shared by write() (new submissions) and quarantineRequeue() (jobs coming back).

import type { Database } from 'better-sqlite3';
import type { JobRow } from '../types.js';
import { prepareBulkInsert } from './bulk.js';
import { tagsJson } from './rows.js';

export function prepareJobsInsert(db: Database): (jobs: readonly JobRow[]) => void {
  return prepareBulkInsert<JobRow>(
    db,
    'INSERT INTO jobs (id, handle, function, unique_key, payload, priority, submitted_at, run_at, deadline, tags)',
    10,
    (j) => [j.id, j.handle, j.function, j.unique, j.payload, j.priority, j.submittedAt, j.runAt ?? null, j.deadline ?? null, tagsJson(j.tags)],
  );
}
