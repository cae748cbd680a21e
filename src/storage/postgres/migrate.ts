// Numbered SQL migrations (migrations/NNNN_name.sql) for the store's own schema, all pending ones applied
// in one transaction under an advisory lock, so nodes starting together never apply one twice, and
// recorded in lazaret_migrations. A schema of that name that holds objects but no lazaret_migrations
// was not made by Lazaret and is refused untouched; one whose version is newer than this code is refused.

import { ErrorCode, LazaretError } from '../../errors.js';
import { type Migration, migrationsDirOf, readMigrationFiles } from '../migration-files.js';
import type { Db, Runner } from './connection.js';

/** First key of the advisory lock; the second is hashtext(schema), so stores in other schemas do not wait. */
const LOCK_CLASS = 0x4c5a5254; // 'LZRT'

export const migrationsDir = (): string => migrationsDirOf('postgres');

/** Reads the migration files of `dir`, ordered by version. */
export const readMigrations = (dir: string): Migration[] => readMigrationFiles(dir, 'postgres');

const SCHEMA_VERSION = { name: 'lz_schema_version', text: 'SELECT coalesce(max(version), 0)::int AS v FROM lazaret_migrations' };

export async function schemaVersion(db: Db, op = 'schemaVersion'): Promise<number> {
  const [row] = await db.query<{ v: number }>(op, SCHEMA_VERSION);
  return row?.v ?? 0;
}

/** Refuses a schema that holds objects but is not a Lazaret store. */
async function checkOwnership(tx: Runner, schema: string, where: string): Promise<void> {
  const objects = await tx.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 ORDER BY c.relname`,
    [schema],
  );
  if (objects.length === 0 || objects.some((o) => o.relname === 'lazaret_migrations')) return;
  const names = objects.slice(0, 5).map((o) => o.relname);
  throw new LazaretError(
    ErrorCode.STORE_FOREIGN,
    `The schema "${schema}" of the PostgreSQL store ${where} holds ${objects.length} object(s) (${names.join(', ')}${objects.length > 5 ? ', …' : ''}) but none of Lazaret's; it belongs to something else and was left untouched.`,
    { hint: 'Give Lazaret a schema of its own with the store option `schema` (an empty or missing schema is set up on first start).' },
  );
}

/**
 * Brings the schema up to the newest of `migrations`, creating it when missing, and returns the
 * resulting version.
 */
export async function migrate(db: Db, schema: string, migrations: readonly Migration[]): Promise<number> {
  const known = migrations[migrations.length - 1]?.version ?? 0;
  return db.transaction('open (migrations, rolled back as a whole)', async (tx) => {
    // Held to the end of this transaction: a second node waits here, then finds the work done.
    await tx.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [LOCK_CLASS, schema]);
    await checkOwnership(tx, schema, db.where);
    // Only when missing: CREATE SCHEMA needs the CREATE privilege on the database even with IF NOT
    // EXISTS, which a user given a schema made by an administrator need not have. The name is checked
    // (connection.ts checkSchemaName), so quoting it is enough.
    const [exists] = await tx.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists === undefined) await tx.run(`CREATE SCHEMA "${schema}"`);
    await tx.run('CREATE TABLE IF NOT EXISTS lazaret_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
    const [row] = await tx.query<{ v: number }>(SCHEMA_VERSION);
    const found = row?.v ?? 0;
    if (found > known) {
      throw new LazaretError(
        ErrorCode.SCHEMA_TOO_NEW,
        `The PostgreSQL store ${db.where} (schema "${schema}") has schema version ${found}, but this Lazaret only knows versions up to ${known}.`,
        { hint: 'A newer Lazaret has used this schema: run that version (or newer) on every node, or point this one at another schema.' },
      );
    }
    for (const m of migrations) {
      if (m.version <= found) continue;
      await tx.run(m.sql);
      await tx.run('INSERT INTO lazaret_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
    }
    return Math.max(found, known);
  });
}
