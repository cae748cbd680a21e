// Numbered SQL migrations (migrations/NNNN_name.sql), each applied in its own transaction and recorded
// in lazaret_migrations. A database whose schema is newer than this code is refused:
// running old code over it could misread rows or undo what the newer version relies on.

import type { Database } from 'better-sqlite3';
import { ErrorCode, LazaretError } from '../../errors.js';
import { type Migration, migrationsDirOf, readMigrationFiles } from '../migration-files.js';
import { toStoreError } from './errors.js';

export const migrationsDir = (): string => migrationsDirOf('sqlite');

/** Reads the migration files of `dir`, ordered by version. */
export const readMigrations = (dir: string): Migration[] => readMigrationFiles(dir, 'sqlite');

/** Reads the highest migration applied to `db`, 0 for a database that has none. */
export function prepareSchemaVersion(db: Database): () => number {
  const highest = db.prepare<[], number | null>('SELECT max(version) FROM lazaret_migrations').pluck();
  return () => highest.get() ?? 0;
}

/**
 * Brings `db` up to the newest of `migrations` and returns the resulting schema version. `where` names
 * the database in messages.
 */
export function migrate(db: Database, migrations: readonly Migration[], where: string): number {
  db.exec('CREATE TABLE IF NOT EXISTS lazaret_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT');
  const known = migrations[migrations.length - 1]?.version ?? 0;
  const schemaVersion = prepareSchemaVersion(db);
  const found = schemaVersion();
  if (found > known) {
    throw new LazaretError(
      ErrorCode.SCHEMA_TOO_NEW,
      `The SQLite store ${where} has schema version ${found}, but this Lazaret only knows versions up to ${known}.`,
      { hint: 'A newer Lazaret has used this file: run that version (or newer), or point this one at another path.' },
    );
  }

  const isApplied = db.prepare<[number], number>('SELECT 1 FROM lazaret_migrations WHERE version = ?').pluck();
  const record = db.prepare<[number, string, number]>('INSERT INTO lazaret_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of migrations) {
    if (isApplied.get(m.version) !== undefined) continue;
    const apply = db.transaction(() => {
      // Checked again under the write lock: another process may have applied it while we waited.
      if (isApplied.get(m.version) !== undefined) return;
      // Recorded first, so two processes racing on one version collide on the key, not halfway through.
      record.run(m.version, m.name, Date.now());
      db.exec(m.sql);
    });
    try {
      // IMMEDIATE takes the write lock at BEGIN, where busy_timeout applies; a deferred transaction
      // upgrading from read to write would fail at once with SQLITE_BUSY instead of waiting.
      apply.immediate();
    } catch (err) {
      const label = `${String(m.version).padStart(4, '0')}_${m.name}`;
      throw toStoreError(err, `migration ${label} (rolled back, nothing of it applied)`, where);
    }
  }
  return schemaVersion();
}
