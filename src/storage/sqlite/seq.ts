// The place in line of jobs entering the queue: one counter, kept in this thread and saved in meta by
// every transaction that took numbers from it, so a number is never given twice, even after a crash
// (a transaction that rolls back only leaves a gap).

import type { Database } from 'better-sqlite3';

export const SEQ_KEY = 'seq_next';

export interface SeqCounter {
  /** The next place in line. */
  take(): number;
  /** Saves the counter; call inside the transaction that used what take() gave. */
  save(): void;
}

export function prepareSeq(db: Database): SeqCounter {
  const read = db.prepare<[], number>(`SELECT value FROM meta WHERE key = '${SEQ_KEY}'`).pluck();
  const write = db.prepare(
    `INSERT INTO meta (key, value) VALUES ('${SEQ_KEY}', CAST(? AS INTEGER))
     ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`,
  );
  let next = read.get() ?? 1;
  let saved = next;
  return {
    take: () => next++,
    save: () => {
      if (next === saved) return;
      write.run(next);
      saved = next;
    },
  };
}
