// Opens the database file with the settings Lazaret's durability promise rests on.

import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode, LazaretError } from '../../errors.js';
import { toStoreError } from './errors.js';

export type SqliteSynchronous = 'normal' | 'full';

export interface ConnectionSettings {
  synchronous: SqliteSynchronous;
  busyTimeoutMs: number;
}

export interface OpenedDatabase {
  db: Database.Database;
  /** The file did not exist before: the caller makes it durable before acknowledging anything. */
  created: boolean;
}

export const IN_MEMORY = ':memory:';

/**
 * WAL with synchronous=FULL (the default): the WAL is fsynced at every commit, so an acknowledged job
 * survives a power cut or an OS crash as well as a kill -9. With NORMAL a commit is only in the OS when
 * write() resolves: it survives the process being killed, but a power cut can lose the commits since
 * the last checkpoint. Checkpoints are Lazaret's (checkpoint.ts), never SQLite's automatic one.
 */
export function openDatabase(path: string, settings: ConnectionSettings): OpenedDatabase {
  if (path !== IN_MEMORY) {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (err) {
      throw toStoreError(err, `creating the folder ${dirname(path)}`, path);
    }
  }
  const existed = path !== IN_MEMORY && existsSync(path);
  // Checked before SQLite opens it: SQLite deletes the WAL beside an empty database file, and whatever
  // that WAL holds is left for the operator to look at.
  if (existed && statSync(path).size === 0) throw noSchema(path, 0);
  const db = new Database(path);
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(settings.busyTimeoutMs))}`);
    // Before anything changes the file (WAL mode is written into it): another application's database stays as it was.
    refuseForeign(db, path, existed);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (path !== IN_MEMORY && mode !== 'wal') {
      throw new Error(`SQLite refused WAL journal mode (it answered "${String(mode)}"); is the file on a network share?`);
    }
    db.pragma(`synchronous = ${settings.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('wal_autocheckpoint = 0');
    db.pragma('foreign_keys = ON');
    return { db, created: path !== IN_MEMORY && !existed };
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * A database with tables but without Lazaret's migrations table is somebody else's. One that existed
 * before this open but holds no table at all is not a new store either: Lazaret writes its schema
 * before it acknowledges anything, so such a file lost what was in it (a power cut during the first
 * start, with the schema still only in the WAL) or is not what the operator meant to point at.
 */
function refuseForeign(db: Database.Database, path: string, existed: boolean): void {
  const tables = db
    .prepare<[], string>("SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite!_%' ESCAPE '!'")
    .pluck()
    .all();
  if (tables.length === 0) {
    if (!existed) return;
    throw noSchema(path, statSync(path).size);
  }
  if (tables.includes('lazaret_migrations')) return;
  const shown = tables.slice(0, 5).join(', ') + (tables.length > 5 ? ', …' : '');
  throw new LazaretError(
    ErrorCode.STORE_FOREIGN,
    `The SQLite file ${basename(path)} holds tables that are not Lazaret's (${shown}) and no lazaret_migrations table; it was left untouched.`,
    { hint: 'Point --db (config key db) at a new file or at an existing Lazaret database.' },
  );
}

function noSchema(path: string, size: number): LazaretError {
  return new LazaretError(
    ErrorCode.STORE_NO_SCHEMA,
    `The SQLite file ${basename(path)} exists (${size} bytes) but holds no tables, not even Lazaret's schema: it is not a store ` +
      'Lazaret can use, and was left untouched. A store loses its schema this way when the machine lost power during its first start.',
    {
      hint: `If ${basename(path)} is the store this server should use, nothing in it can be recovered: delete it and start again for an empty store. Otherwise point --db (config key db) at the right file.`,
    },
  );
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The database file's bytes, on the disk. */
export function syncNewFile(path: string): void {
  fsyncPath(path);
}

/**
 * The names of new files (the database, its WAL) are in their folder, which has its own blocks to
 * flush; so are new folders in theirs. Syncs the file's folder and every folder up to the parent of
 * `firstCreated`, the outermost folder created for it.
 */
export function syncFolders(file: string, firstCreated: string | undefined): void {
  let folder = dirname(file);
  const last = firstCreated === undefined ? folder : dirname(firstCreated);
  for (;;) {
    fsyncPath(folder);
    if (folder === last || dirname(folder) === folder) return;
    folder = dirname(folder);
  }
}
