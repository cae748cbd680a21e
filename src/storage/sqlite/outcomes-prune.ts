// outcomesPrune(): deletes rows past their retention, a bounded batch at a time, so a large backlog
// never holds the write lock long enough to delay a group commit noticeably.

import type { Database } from 'better-sqlite3';

export function prepareOutcomesPrune(db: Database): (before: number, limit: number) => number {
  const prune = db.prepare<[number, number]>('DELETE FROM outcomes WHERE id IN (SELECT id FROM outcomes WHERE finished_at < ? ORDER BY finished_at LIMIT ?)');
  return (before, limit) => prune.run(before, Math.max(0, Math.floor(limit))).changes;
}
