// Opens the database file with the settings Lazaret's durability promise rests on.

import { mkdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode, LazaretError } from '../../errors.js';
import { toStoreError } from './errors.js';

export type SqliteSynchronous = 'normal' | 'full';

export interface ConnectionSettings {
  synchronous: SqliteSynchronous;
  busyTimeoutMs: number;
}

export const IN_MEMORY = ':memory:';

/**
 * WAL with synchronous=NORMAL: a commit is in the OS once write() resolves, so it survives the Lazaret
 * process being killed (kill -9, OOM), which is the promise. A power cut or kernel crash can lose the last
 * commits; synchronous=FULL fsyncs the WAL on every commit and survives those too, at some write cost.
 */
export function openDatabase(path: string, settings: ConnectionSettings): Database.Database {
  if (path !== IN_MEMORY) {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (err) {
      throw toStoreError(err, `creating the folder ${dirname(path)}`, path);
    }
  }
  const db = new Database(path);
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(settings.busyTimeoutMs))}`);
    // Before anything changes the file (WAL mode is written into it): another application's database stays as it was.
    refuseForeign(db, path);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (path !== IN_MEMORY && mode !== 'wal') {
      throw new Error(`SQLite refused WAL journal mode (it answered "${String(mode)}"); is the file on a network share?`);
    }
    db.pragma(`synchronous = ${settings.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** A database with tables but without Lazaret's migrations table is somebody else's. */
function refuseForeign(db: Database.Database, path: string): void {
  const tables = db
    .prepare<[], string>("SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite!_%' ESCAPE '!'")
    .pluck()
    .all();
  if (tables.length === 0 || tables.includes('lazaret_migrations')) return;
  const shown = tables.slice(0, 5).join(', ') + (tables.length > 5 ? ', …' : '');
  throw new LazaretError(
    ErrorCode.STORE_FOREIGN,
    `The SQLite file ${basename(path)} holds tables that are not Lazaret's (${shown}) and no lazaret_migrations table; it was left untouched.`,
    { hint: 'Point --db (config key db) at a new file or at an existing Lazaret database.' },
  );
}
