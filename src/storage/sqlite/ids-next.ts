// idsNext(): the first job id the store has never seen, so a restarted node never reuses one.

import type { Database } from 'better-sqlite3';
import { WATERMARK_KEY } from './write.js';

export function prepareIdsNext(db: Database): () => number {
  // Both max() lookups read one end of a rowid b-tree; no scan.
  const highest = db
    .prepare<[], number>(
      `SELECT max(
         coalesce((SELECT max(id) FROM jobs), 0),
         coalesce((SELECT max(id) FROM quarantine), 0),
         coalesce((SELECT value FROM meta WHERE key = '${WATERMARK_KEY}'), 0)
       )`,
    )
    .pluck();
  return () => (highest.get() ?? 0) + 1;
}
