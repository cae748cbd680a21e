// quarantineCountByFunction(): entry counts per function, for the status table (uses the function index).

import type { Database } from 'better-sqlite3';

export function prepareQuarantineCountByFunction(db: Database): () => Record<string, number> {
  const select = db.prepare<[], { function: string; n: number }>('SELECT function, count(*) AS n FROM quarantine GROUP BY function');
  return () => Object.fromEntries(select.all().map((r) => [r.function, r.n]));
}
