// Turns whatever better-sqlite3 throws into a LazaretError, so core never sees a driver error type
// (their type would leak the backend into every layer). The SQLite code stays in the message: it is what an operator will search for.

import Database from 'better-sqlite3';
import { ErrorCode, LazaretError } from '../../errors.js';

/** The SQLite result code (e.g. SQLITE_CONSTRAINT_PRIMARYKEY) when the error came from SQLite. */
export function sqliteCode(err: unknown): string | null {
  return err instanceof Database.SqliteError ? err.code : null;
}

function hintFor(code: string | null): string | undefined {
  if (code === null) return undefined;
  if (code.startsWith('SQLITE_CONSTRAINT')) {
    return 'A row clashed with one already stored (same id) or named a job that is not stored. This is a Lazaret bug: please report it with this message.';
  }
  if (code.startsWith('SQLITE_FULL')) return 'The disk holding the database is full; free some space and retry.';
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM')) {
    return 'Check that the Lazaret process may read and write the database file and the directory that holds it.';
  }
  if (code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB')) {
    return 'The file is damaged or is not a Lazaret database; restore it from a backup or point the store at another path.';
  }
  if (code.startsWith('SQLITE_IOERR')) return 'The operating system reported an I/O error; check the disk and its free space.';
  return undefined;
}

/**
 * Maps an error thrown during `op` on the database at `where` to a LazaretError. A LazaretError passes
 * through unchanged.
 */
export function toStoreError(err: unknown, op: string, where: string): LazaretError {
  if (err instanceof LazaretError) return err;
  const code = sqliteCode(err);
  const text = err instanceof Error ? err.message : String(err);
  // SQLITE_BUSY (and its extended codes) means another connection held the lock past busy_timeout;
  // SQLITE_LOCKED is the same conflict inside one process. Both are worth a retry, unlike the rest.
  if (code !== null && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))) {
    return new LazaretError(ErrorCode.STORE_BUSY, `SQLite store ${where} stayed locked by another connection during ${op} (${code}: ${text}).`, {
      hint: 'Only one Lazaret node may use a SQLite file. If a backup or another tool holds it, retry later or raise busyTimeoutMs.',
      cause: err,
    });
  }
  const hint = hintFor(code);
  return new LazaretError(
    ErrorCode.STORE_FAILED,
    `SQLite store ${where} failed during ${op} (${code ?? 'not an SQLite error'}): ${text}`,
    hint === undefined ? { cause: err } : { hint, cause: err },
  );
}

export { corruptRow } from '../narrow.js';
