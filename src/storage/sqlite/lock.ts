// One server per database file. The lock is an exclusive SQLite lock on a companion file
// (<db>.lock), held for as long as the store is open: SQLite takes it with fcntl(), which the
// operating system drops when the process ends in any way (kill -9 included), so a stale lock can
// never keep a restarted server out. The holder's pid is not in the lock file (nobody can read a file
// under an exclusive lock) but in the database's meta table (holder.ts), which the refused server reads.

import Database from 'better-sqlite3';
import { sqliteCode } from './errors.js';

export interface StoreLock {
  release(): void;
}

/** Takes the lock file at `lockPath` (<db>.lock); null when another connection holds it. */
export function acquireLock(lockPath: string): StoreLock | null {
  const db = new Database(lockPath);
  try {
    db.pragma('busy_timeout = 0');
    // The rollback journal stays in memory: the lock file never gets a -journal companion.
    db.pragma('journal_mode = MEMORY');
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    const code = sqliteCode(err);
    if (code?.startsWith('SQLITE_BUSY')) return null;
    throw err;
  }
  return {
    release: () => {
      try {
        db.exec('ROLLBACK');
      } finally {
        db.close();
      }
    },
  };
}
