// Fresh stores for tests: a real database, never shared between tests.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/storage/sqlite/store.js';
import type { AdapterUnderTest } from '../storage/conformance/index.js';

export interface FreshSqlite {
  /** A database file that does not exist yet, in a folder of its own. */
  path: string;
  /** Removes the folder with the file and its -wal/-shm companions. Close the store first. */
  cleanup: () => Promise<void>;
}

export async function freshSqlite(): Promise<FreshSqlite> {
  const dir = await mkdtemp(join(tmpdir(), 'lazaret-test-'));
  return {
    path: join(dir, 'lazaret.db'),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The write lock of the database, held by a second connection as another process would; released at the end of `t` too. */
export function holdWriteLock(path: string, t?: TestContext): { release(): void } {
  const db = new Database(path);
  db.exec('BEGIN IMMEDIATE');
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    db.exec('ROLLBACK');
    db.close();
  };
  t?.after(release);
  return { release };
}

/** A fresh SQLite store for the conformance suite: unopened, with reopen() over the same file and a cleanup. */
export async function sqliteUnderTest(): Promise<AdapterUnderTest> {
  const file = await freshSqlite();
  const stores: SqliteStore[] = [];
  const make = (): SqliteStore => {
    const store = new SqliteStore({ path: file.path });
    stores.push(store);
    return store;
  };
  return {
    adapter: make(),
    reopen: async () => make(),
    cleanup: async () => {
      for (const store of stores) await store.close();
      await file.cleanup();
    },
  };
}
