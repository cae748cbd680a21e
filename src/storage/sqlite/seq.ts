// The place in line of jobs entering the queue: one counter, kept in this thread, reserved in blocks
// in meta by the transaction that first takes from a block, so a number is never given twice, even
// after a crash (a crash or a rollback only leaves a gap).

import type { Database } from 'better-sqlite3';

export const SEQ_KEY = 'seq_next';

export interface SeqCounter {
  /** The next place in line. */
  take(): number;
  /** Saves the counter; call inside the transaction that used what take() gave. */
  save(): void;
}

/** Places reserved in meta at a time: one meta write per this many, not one per commit. */
const BLOCK = 4096;

export function prepareSeq(db: Database): SeqCounter {
  const read = db.prepare<[], number>(`SELECT value FROM meta WHERE key = '${SEQ_KEY}'`).pluck();
  const write = db.prepare(
    `INSERT INTO meta (key, value) VALUES ('${SEQ_KEY}', CAST(? AS INTEGER))
     ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`,
  );
  // meta holds the end of the reserved block: after a crash the counter starts there (a gap, never a
  // place given twice).
  let next = read.get() ?? 1;
  let reserved = next;
  let saved = next;
  return {
    take: () => {
      if (next >= reserved) reserved = next + BLOCK;
      return next++;
    },
    save: () => {
      if (reserved === saved) return;
      write.run(reserved);
      saved = reserved;
    },
  };
}
