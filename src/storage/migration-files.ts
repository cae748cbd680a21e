// The numbered SQL migrations of each backend (`<backend>/migrations/NNNN_name.sql`), read in order of
// version. How they are applied differs (sqlite/migrate.ts, postgres/migrate.ts); the files do not.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, LazaretError } from '../errors.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export type Backend = 'sqlite' | 'postgres';

const LABEL: Record<Backend, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

const FILE_NAME = /^(\d{4})_([A-Za-z0-9_-]+)\.sql$/;

/**
 * Where a backend's .sql files are. Under tsx this module runs from src/storage/ and they sit below it;
 * after `tsc` it runs from dist/storage/, which tsc does not copy .sql files into, so we fall back to the
 * src/storage/<backend>/migrations/ folder the package ships.
 */
export function migrationsDirOf(backend: Backend): string {
  const candidates = [new URL(`./${backend}/migrations/`, import.meta.url), new URL(`../../src/storage/${backend}/migrations/`, import.meta.url)];
  for (const url of candidates) {
    const dir = fileURLToPath(url);
    if (existsSync(dir)) return dir;
  }
  throw new LazaretError(
    ErrorCode.STORE_FAILED,
    `The ${LABEL[backend]} migrations folder is missing; looked in ${candidates.map((u) => fileURLToPath(u)).join(' and ')}.`,
    { hint: `Reinstall Lazaret: the package must ship src/storage/${backend}/migrations/.` },
  );
}

/** Reads the migration files of `dir`, ordered by version; two of one version, or none, are refused. */
export function readMigrationFiles(dir: string, backend: Backend): Migration[] {
  const migrations: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    const match = FILE_NAME.exec(file);
    if (match === null) continue;
    const version = Number(match[1]);
    if (migrations[migrations.length - 1]?.version === version) {
      throw new LazaretError(ErrorCode.STORE_FAILED, `Two ${LABEL[backend]} migrations in ${dir} share version ${version}.`);
    }
    migrations.push({ version, name: match[2] ?? '', sql: readFileSync(join(dir, file), 'utf8') });
  }
  if (migrations.length === 0) throw new LazaretError(ErrorCode.STORE_FAILED, `No ${LABEL[backend]} migrations (NNNN_name.sql) found in ${dir}.`);
  return migrations;
}
